"""The terminal's lines: objective values labelled as estimates, and what automl export says about its firmware."""

from __future__ import annotations

from pathlib import Path

from automl.export import ExportResult
from automl.report import export_lines, values_text

NAMES = ("event_f1", "flash_bytes", "ram_bytes", "latency_ms")
SIZES = {  # a measured export's sizes.json, the parts export_lines reads
    "library": {"text": 3878, "data": 4, "bss": 3818, "flash_bytes": 3882, "ram_bytes": 3822,
                "objects": {"kp.o": {"text": 3706, "data": 4, "bss": 3818}, "kp_model.o": {"text": 172, "data": 0,
                                                                                              "bss": 0}}},
    "model_tflite": {"text": 1272, "data": 0, "bss": 0, "note": "..."},
    "stack_bytes_bound": 164,
    "unavailable": {},
}


def _result(sizes: dict | None = SIZES, unknown_threshold: float = 0.0, background_id: int | None = None,
            classes: tuple[str, ...] = ("badminton", "running")) -> ExportResult:
    return ExportResult(out_dir=Path("/fw/demo"), files=(), study="demo", trial=5, prefix="kp", tflite_bytes=1256,
                        class_macros=(), operators=(), class_names=("unknown", *classes),
                        unknown_threshold=unknown_threshold, background_id=background_id, sizes=sizes)


def test_values_text_labels_the_costs_as_estimates():
    assert values_text(NAMES, [0.8913, 3886.0, 3993.0, 2.6118]) == \
        "event F1 0.891; estimated (cost model): flash 3,886 B, RAM 3,993 B, latency 2.612 ms"
    assert values_text(NAMES[:1], [0.5]) == "event F1 0.500"  # no cost, no label


def test_export_lines_compare_measured_and_estimated_sizes():
    lines = export_lines(_result(), {"flash_bytes": 3886.0, "ram_bytes": 3993.0}, recommended=True)
    assert lines == [
        "exported trial 5 (recommended) of study 'demo' to /fw/demo",
        # 3,886 / 3,882 - 1 = +0.10 %; RAM: the estimate includes the stack, so it is compared with 3,822 + 164 B.
        "  flash: 3,882 B measured (arm-none-eabi-size: text + data of kp.o + kp_model.o); estimated (cost model) "
        "3,886 B, +0.1% vs measured",
        "  RAM: 3,986 B measured (arm-none-eabi-size: data + bss 3,822 B; -fstack-usage: stack bound 164 B); "
        "estimated (cost model) 3,993 B with the stack, +0.2% vs measured",
        "  .tflite model: 1,256 B (model_tflite_bytes: the kp_model_tflite array in model_data.c, optional, for "
        "TensorFlow Lite Micro; not in the flash above); sizes.json's model_tflite.text 1,272 B is model_data.o: "
        "the array + its length constant and alignment padding (16 B)",
        "  class ids (kp_class_names): 0 = unknown (no decision: top probability below an unknown threshold; this "
        "trial has none, so it never returns 0), 1 = badminton, 2 = running",
    ]
    under = export_lines(_result(), {"flash_bytes": 3500.0, "ram_bytes": 3986.0})
    assert under[0] == "exported trial 5 of study 'demo' to /fw/demo"
    assert under[1].endswith("estimated (cost model) 3,500 B, -9.8% vs measured")  # 3,500 / 3,882 - 1
    assert under[2].endswith("estimated (cost model) 3,986 B with the stack, +0.0% vs measured")
    just_under = export_lines(_result(), {"flash_bytes": 3881.0, "ram_bytes": 3985.0})  # -0.03 %: no "-0.0%"
    assert just_under[1].endswith("3,881 B, +0.0% vs measured") and just_under[2].endswith("stack, +0.0% vs measured")


def test_export_lines_say_the_unknown_threshold_and_the_background():
    lines = export_lines(_result(unknown_threshold=0.6, background_id=1, classes=("NoActivity", "jab")), {})
    assert lines[-1] == ("  class ids (kp_class_names): 0 = unknown (no decision: top probability below the unknown "
                         "threshold 0.6), 1 = NoActivity (background), 2 = jab")


def test_export_lines_say_when_the_unknown_threshold_can_never_apply():
    # Four classes: the top probability is at least 1/4 (0.25 - 1/256 on an int8 device), so 0.0205 never applies.
    four = ("NoActivity", "hook", "jab", "uppercut")
    lines = export_lines(_result(unknown_threshold=0.0205302, background_id=1, classes=four), {})
    assert lines[-1] == ("  class ids (kp_class_names): 0 = unknown (no decision: top probability below the unknown "
                         "threshold 0.0205; with 4 classes the top probability is at least 1/4, so this trial never "
                         "returns 0), 1 = NoActivity (background), 2 = hook, 3 = jab, 4 = uppercut")
    # Within the int8 resolution of 1/4 it may apply: said plainly.
    near = export_lines(_result(unknown_threshold=0.248, background_id=1, classes=four), {})
    assert "threshold 0.248), 1 = NoActivity" in near[-1]


def test_export_lines_compare_nothing_they_cannot():
    est = {"flash_bytes": 20000.0, "ram_bytes": 9000.0}
    # No toolchain: sizes.json says why; the estimate is still given, without a percentage.
    none = export_lines(_result({"library": None, "model_tflite": None, "stack_bytes_bound": None,
                                 "unavailable": {"sizes": "not on PATH: arm-none-eabi-gcc"}}), est)
    assert none[1:4] == [
        "  flash: not measured (not on PATH: arm-none-eabi-gcc); estimated (cost model) 20,000 B",
        "  RAM: not measured (not on PATH: arm-none-eabi-gcc); estimated (cost model) 9,000 B with the stack",
        "  .tflite model: 1,256 B (model_tflite_bytes: the kp_model_tflite array in model_data.c, optional, for "
        "TensorFlow Lite Micro; not in the flash above)",
    ]
    # No stack bound: the measured RAM lacks what the estimate includes.
    no_stack = export_lines(_result({**SIZES, "stack_bytes_bound": None}), est)
    assert no_stack[2] == ("  RAM: 3,822 B measured (arm-none-eabi-size: data + bss; stack bound not measured); "
                           "estimated (cost model) 9,000 B with the stack")
    # A TensorFlow Lite Micro target: the estimate is of another build than this C library.
    tflm = export_lines(_result(), est, runtime="tflite-micro")
    assert tflm[1] == ("  flash: 3,882 B measured (arm-none-eabi-size: text + data of kp.o + kp_model.o); estimated "
                       "(cost model) 20,000 B for TensorFlow Lite Micro (the study's target runtime), which this "
                       "export does not use")
    assert "vs measured" not in "".join(tflm) and "vs measured" not in "".join(export_lines(_result(), None))
    assert export_lines(_result(), None)[1] == \
        "  flash: 3,882 B measured (arm-none-eabi-size: text + data of kp.o + kp_model.o)"
