"""The terminal's lines about a study: objective values and the recommendation, one writer for all commands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from automl.report._data import OBJECTIVE_SHORT, ReportData, objective_text

if TYPE_CHECKING:
    from automl.export import ExportResult

__all__ = ["ESTIMATED", "export_lines", "is_cost", "objective_text", "recommendation_line", "values_text"]

#: Resolution of an int8 softmax output (TFLite's fixed softmax output quantisation: scale 1/256, zero point
#: -128): a top probability of 1/K classes can read up to this much lower on the device.
SOFTMAX_INT8_SCALE = 1.0 / 256.0

#: How the terminal labels a trial's costs: the search never builds a trial, it estimates them
#: (``automl.cost``); ``automl export`` prints the measured sizes beside them.
ESTIMATED = "estimated (cost model)"


def is_cost(name: str) -> bool:
    """True for a cost objective (``*_bytes``, ``*_ms``: the cost model's estimates), False for the score."""
    return name.endswith(("_bytes", "_ms"))


def values_text(names: Sequence[str], values: Sequence[float]) -> str:
    """``"event F1 0.912; estimated (cost model): flash 4,449 B, RAM 3,398 B, latency 1.411 ms"``.

    Args:
        names: the study's objective names (``objective_names``), e.g.
            ``("event_f1", "flash_bytes", "ram_bytes", "latency_ms")``.
        values: one float per name: the score, then costs in bytes and ms.

    Returns:
        The score first, then the costs after the :data:`ESTIMATED` label (they are the
        cost model's, not measured); either part is left out when there is none.
    """
    pairs = list(zip(names, values))
    part = [", ".join(f"{OBJECTIVE_SHORT.get(n, n)} {objective_text(n, v)}" for n, v in pairs if is_cost(n) == cost)
            for cost in (False, True)]
    if part[1]:
        part[1] = f"{ESTIMATED}: {part[1]}"
    return "; ".join(p for p in part if p)


def recommendation_line(data: ReportData) -> str:
    """``recommended: trial 5 (values, exact costs). <the rule's sentence>``, or why there is none."""
    if data.recommended is None:
        why = data.rule.reason if data.rule is not None else "No recommendation: the study has no complete trial."
        return f"recommended: none. {why}"
    r = data.recommended
    reason = data.rule.reason if data.rule is not None else ""
    return f"recommended: trial {r.number} ({values_text(data.objective_names, r.values)}). {reason}".rstrip()


def export_lines(result: ExportResult, estimate: Mapping[str, float] | None = None, *, recommended: bool = False,
                 runtime: str = "automl-c") -> list[str]:
    """What ``automl export`` says about the firmware it wrote (the build and replay hints follow).

    Which trial it exported (not why: the search and the report say that), its
    measured library sizes beside the cost model's estimates and the estimate's
    error in percent, what the ``.tflite`` numbers are, and what each class id the
    device returns means.

    Args:
        result: the export (:func:`automl.export.export_trial`); its ``sizes``
            (``sizes.json``) hold the measured sizes, ``None`` or ``null`` sections
            when not measured.
        estimate: the trial's exact costs by objective name, e.g.
            ``{"flash_bytes": 3886.0, "ram_bytes": 3993.0}`` (bytes; the cost
            model's, RAM with the stack); ``None`` or a missing name: not said.
        recommended: the trial was chosen as ``--trial recommended``.
        runtime: the study's target runtime: ``automl-c`` (the C library this
            export is, what the estimate models) or ``tflite-micro`` (the estimate
            is of a TensorFlow Lite Micro build, so it is not compared).

    Returns:
        Lines without trailing newlines: the first says the trial and folder, the
        others are indented by two spaces.
    """
    estimate = estimate or {}
    sizes = result.sizes or {}
    lib = sizes.get("library")
    unmeasured = (sizes.get("unavailable") or {}).get("sizes") or "measure=False"
    which = f"trial {result.trial} (recommended)" if recommended else f"trial {result.trial}"
    lines = [f"exported {which} of study {result.study!r} to {result.out_dir}"]
    objects = " + ".join(lib["objects"]) if lib else ""
    stack = sizes.get("stack_bytes_bound")
    for name, label in (("flash_bytes", "flash"), ("ram_bytes", "RAM")):
        if lib is None:
            measured, line = None, f"{label}: not measured ({unmeasured})"
        elif name == "flash_bytes":
            measured = lib["flash_bytes"]
            line = f"flash: {measured:,} B measured (arm-none-eabi-size: text + data of {objects})"
        elif stack is not None:
            measured = lib["ram_bytes"] + stack
            line = (f"RAM: {measured:,} B measured (arm-none-eabi-size: data + bss {lib['ram_bytes']:,} B; "
                    f"-fstack-usage: stack bound {stack:,} B)")
        else:  # the estimate includes the stack: without its bound the two are not comparable
            measured = None
            line = f"RAM: {lib['ram_bytes']:,} B measured (arm-none-eabi-size: data + bss; stack bound not measured)"
        est = estimate.get(name)
        if est is not None:
            line += f"; {ESTIMATED} {est:,.0f} B" + (" with the stack" if name == "ram_bytes" else "")
            if runtime == "tflite-micro":
                line += " for TensorFlow Lite Micro (the study's target runtime), which this export does not use"
            elif measured:
                error = round(100.0 * (est - measured) / measured, 1) + 0.0  # + 0.0: no "-0.0%"
                line += f", {error:+.1f}% vs measured"
        lines.append("  " + line)
    line = (f".tflite model: {result.tflite_bytes:,} B (model_tflite_bytes: the {result.prefix}_model_tflite array "
            "in model_data.c, optional, for TensorFlow Lite Micro; not in the flash above)")
    model = sizes.get("model_tflite")
    if model:
        line += (f"; sizes.json's model_tflite.text {model['text']:,} B is model_data.o: the array + its length "
                 f"constant and alignment padding ({model['text'] - result.tflite_bytes:,} B)")
    lines.append("  " + line)
    threshold, n_classes = result.unknown_threshold, len(result.class_names) - 1
    if threshold <= 0:
        unknown = ("0 = unknown (no decision: top probability below an unknown threshold; this trial has none, so it "
                   "never returns 0)")
    elif threshold < 1.0 / n_classes - SOFTMAX_INT8_SCALE:
        unknown = (f"0 = unknown (no decision: top probability below the unknown threshold {threshold:.3g}; with "
                   f"{n_classes} classes the top probability is at least 1/{n_classes}, so this trial never returns 0)")
    else:
        unknown = f"0 = unknown (no decision: top probability below the unknown threshold {threshold:.3g})"
    ids = [f"{i} = {name}" + (" (background)" if i == result.background_id else "")
           for i, name in enumerate(result.class_names) if i > 0]
    lines.append(f"  class ids ({result.prefix}_class_names): " + ", ".join([unknown, *ids]))
    return lines
