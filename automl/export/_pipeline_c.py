"""Template variables for the generated pipeline (``kp.h``, ``kp.c``, ``kp_stream.c``).

:func:`pipeline_context` turns a validated :class:`~automl.export._spec.FirmwareSpec`
into what ``firmware/templates/kp.{h,c}.jinja`` print: the segmenter's
configuration, one C call per *selected* feature (the generator's C function
from ``FeatureExtractor.feature_specs()`` with its resolved arguments), the
magnitude channels and DFT tables only when a selected feature uses them, the
scaler's float32 minimum and maximum, the class decision and the
post-processing settings (``kp_post.h`` only when they are not the identity).
Only formats; never changes a number.
"""

from __future__ import annotations

import re

import numpy as np

import automl

from . import _cgen
from ._model_c import MlpC
from ._spec import FirmwareSpec

__all__ = ["pipeline_context"]

# kp_features.h argument for each symbolic C argument of a generator
# (automl.features.C_ARGS); "band"/"n_bands" arrive as ints.
_ARG_EXPR = {
    "scratch": "{p}_priv_scratch",
    "cos_table": "{p}_priv_dft_cos",
    "sin_table": "{p}_priv_dft_sin",
}


def _float_lines(values, per_line: int = 6) -> list[_cgen.CText]:
    items = [_cgen.c_float(v) for v in np.asarray(values, np.float32)]
    rows = [items[i: i + per_line] for i in range(0, len(items), per_line)]
    return [_cgen.CText("    " + ", ".join(r) + ("," if k < len(rows) - 1 else "")) for k, r in enumerate(rows)]


def _feature_plan(spec: FirmwareSpec, p: str, P: str) -> dict:
    """Calls, magnitudes and shared buffers for the selected features."""
    from automl.features import FeatureExtractor, dft_tables

    fx = FeatureExtractor(list(spec.channels), families=spec.families, magnitude=spec.magnitude,
                          sample_rate_hz=spec.sample_rate_hz, frequency_bands=spec.frequency_bands,
                          sensors=spec.sensors)
    by_name = {s.name: s for s in fx.feature_specs()}
    out_channels = fx.output_channels()
    n_raw = len(spec.channels)
    mag_sources = fx.magnitude_sources()
    used_mags: dict[int, int] = {}  # output channel -> slot in <p>_priv_mag
    ctx_dt = np.float32(1.0 / spec.sample_rate_hz)
    ctx_fs = np.float32(spec.sample_rate_hz)
    calls, needs_scratch, needs_dft = [], False, False
    W, C = f"{P}_WINDOW_SIZE", f"{P}_NUM_CHANNELS"

    def pointer(channel: int) -> tuple[str, str]:
        if channel < n_raw:
            return f"w + {channel}", C
        slot = used_mags.setdefault(channel, len(used_mags))
        return f"{p}_priv_mag[{slot}]", "1"

    for pos, name in enumerate(spec.selected_names):
        fs = by_name[name]
        gen = fs.generator
        _cgen.check_c_identifier(gen.c_function, what="feature C function")
        if gen.kind == "pair":
            (a, stride), (b, _) = pointer(fs.sources[0]), pointer(fs.sources[1])
            args = [a, b, W, stride]
        else:
            x, stride = pointer(fs.sources[0])
            args = [x, W, stride]
        for arg in fs.c_args:
            if isinstance(arg, (int, np.integer)) and not isinstance(arg, bool):
                args.append(str(int(arg)))
            elif arg == "dt":
                args.append(_cgen.c_float(ctx_dt))
            elif arg == "fs":
                args.append(_cgen.c_float(ctx_fs))
            elif arg in _ARG_EXPR:
                args.append(_ARG_EXPR[arg].format(p=p))
            else:  # a new C_ARGS entry the exporter does not know yet
                raise ValueError(f"feature {name!r}: no C expression for argument {arg!r}")
        needs_scratch |= gen.needs_scratch
        needs_dft |= gen.needs_dft_tables
        calls.append({
            "pos": pos, "name": name,
            "call": _cgen.CText(f"{gen.c_function}({', '.join(args)})"),
            "min": _cgen.c_float(spec.scaler_min[pos]), "max": _cgen.c_float(spec.scaler_max[pos]),
            "min_plain": _cgen.plain_float(spec.scaler_min[pos]),
            "max_plain": _cgen.plain_float(spec.scaler_max[pos]),
        })
    magnitudes = []
    for channel, slot in sorted(used_mags.items(), key=lambda kv: kv[1]):
        mag = out_channels[channel]
        magnitudes.append({"index": slot, "name": mag,
                           "sources": [spec.channels.index(s) for s in mag_sources[mag]]})
    plan = {"features": calls, "magnitudes": magnitudes, "needs_scratch": needs_scratch,
            "needs_dft": needs_dft}
    if needs_dft:
        cos_t, sin_t = dft_tables(spec.window_size)
        plan["dft_cos"], plan["dft_sin"] = _float_lines(cos_t), _float_lines(sin_t)
    return plan


def _segmenter_plan(spec: FirmwareSpec) -> dict:
    from automl.segmentation import column_sources

    seg = spec.segmenter
    if seg.kind == "sliding":
        note = f"sliding windows of {seg.window_size} samples every {seg.slide} samples"
        return {"threshold": False, "max_detect": 1, "max_pending": 1, "segmenter_note": _cgen.c_comment(note),
                "segmenter_note_md": _cgen.md_code(note)}
    sources = list(column_sources(spec.channels, seg.column, spec.sensors))
    std = seg.mode == "std"
    det = int(seg.detection_window or 1) if std else 1
    detection = (f"population std of the last {det} samples of {seg.column}" if std
                 else f"|{seg.column}|")
    note = (f"threshold windows of {seg.window_size} samples starting {seg.lookback} samples before each "
            f"trigger, a trigger when the {detection} exceeds {float(np.float32(seg.threshold)):.9g} counts, "
            f"then {seg.slide} samples refractory")
    return {
        "threshold": True, "column": seg.column, "sources": sources,
        "source_init": _cgen.CText(", ".join(str(s) for s in (sources + [0, 0])[:3])),
        "detect_mode": _cgen.CText("KP_SEG_STD" if std else "KP_SEG_ABSOLUTE"),
        "detection_window": det, "max_detect": det,
        "threshold_value": float(np.float32(seg.threshold)), "lookback": int(seg.lookback),
        "max_pending": (seg.window_size - 1 - seg.lookback) // seg.slide + 1,
        "segmenter_note": _cgen.c_comment(note), "segmenter_note_md": _cgen.md_code(note),
    }


def _post_plan(spec: FirmwareSpec) -> dict:
    """Post-processing settings (``kp_post.h``); ``post`` is False for the identity (no code, no state)."""
    fp = spec.fitted
    background = fp.background_index
    return {
        "post": not fp.post.is_identity, "vote": int(fp.vote), "refractory": int(fp.refractory),
        "background_id": -1 if spec.background_id is None else spec.background_id,  # class id
        "post_background": _cgen.CText("KP_POST_NO_BACKGROUND" if background is None else str(background)),
        "post_note_md": _cgen.md_code(_post_note(fp.post.vote, fp.post.refractory, background, spec.classes)),
    }


def _post_note(vote: int, refractory: int, background: int | None, classes: tuple[str, ...]) -> str:
    """One sentence on what the device emits (README)."""
    if vote == 1 and refractory == 0:
        return "none: every class decision is emitted"
    parts = []
    if vote > 1:
        parts.append(f"majority vote over the last {vote} decisions (ties to the most recent)")
    if refractory > 0:
        events = "any class" if background is None else f"any class but {classes[background]!r}, not unknown"
        parts.append(f"an event output ({events}) is suppressed when its window ends less than {refractory} "
                     "samples after the last emitted one's")
    return "; ".join(parts)


def pipeline_context(spec: FirmwareSpec, mlp: MlpC, prefix: str, class_macros: list[_cgen.CText],
                     *, flash_bytes: int = 0, ram_bytes: int = 0) -> dict:
    """Variables of ``kp.h.jinja``, ``kp.c.jinja``, ``kp_stream.c.jinja`` and the README.

    Args:
        spec: the validated pipeline.
        mlp: the network read from the ``.tflite`` (:func:`read_mlp`).
        prefix: C symbol prefix (``kp``).
        class_macros: one ``#define`` name per class id (id 0 = unknown first).
        flash_bytes, ram_bytes: measured library sizes for ``kp_model_info``
            (0: not measured).

    Returns:
        The template variables (numbers as int, text as :class:`_cgen.CText` or
        raw ``str`` that the templates escape).
    """
    p, P = prefix, prefix.upper()
    names = spec.class_names
    is_int8 = spec.quantization == "int8"
    if is_int8:
        q = int(spec.unknown_q)
        decision = (f"top int8 softmax output (first on ties), class 0 (unknown) when it is below {q}"
                    if q > -128 else "top int8 softmax output (first on ties)")
    else:
        decision = "first largest float32 logit" + (
            f", class 0 (unknown) when the top probability is below {spec.unknown_threshold:.9g}"
            if spec.unknown_threshold > 0 else "")
    summary = " -> ".join([str(mlp.n_inputs)] + [str(layer.n_out) for layer in mlp.layers])
    if mlp.softmax is not None:
        summary += " -> softmax"
    ctx = {
        "version": _cgen.CText(automl.__version__),
        "study": spec.study,
        "trial": spec.trial,
        # The study name as a shell word in the README's `automl replay` line; a name automl would not
        # create (pipeline.json is user text) is shown as STUDY instead of being quoted into a code block.
        "study_word": _cgen.CText(spec.study if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", spec.study)
                                  else "STUDY"),
        "dataset": spec.dataset,
        "dataset_text": spec.dataset if spec.dataset is not None else "",
        "p": _cgen.CText(p),
        "P": _cgen.CText(P),
        "mlp_model": _cgen.CText(f"{p.lower()}_mlp_model"),  # render_mlp_c's symbol (lower-case prefix)
        "segmenter_kind": _cgen.CText(spec.segmenter.kind),  # validated: sliding | threshold
        "window_size": spec.window_size,
        "slide": spec.slide,
        "sample_rate_hz": spec.sample_rate_hz,
        "channels": [{"index": i, "name": name, "scale": scale}
                     for i, (name, scale) in enumerate(zip(spec.channels, spec.sample_scale))],
        "n_features": len(spec.selected),
        "n_outputs": len(spec.classes),
        "classes": [{"id": i, "name": name, "macro": macro}
                    for i, (name, macro) in enumerate(zip(names, class_macros))],
        "unknown_macro": class_macros[0],
        "quantization": _cgen.CText(spec.quantization),
        "int8": is_int8,
        "has_softmax": mlp.softmax is not None,
        "unknown_q": int(spec.unknown_q) if is_int8 else None,
        "unknown_threshold": float(spec.unknown_threshold),
        "decision_note": _cgen.md_code(decision),
        "model_summary": _cgen.md_code(summary),
        "tflite_bytes": len(spec.fitted.tflite),
        "flash_bytes": int(flash_bytes),
        "ram_bytes": int(ram_bytes),
    }
    ctx.update(_post_plan(spec))
    ctx.update(_segmenter_plan(spec))
    ctx.update(_feature_plan(spec, p, P))
    return ctx
