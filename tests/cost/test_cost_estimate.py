"""Cost estimates worked out by hand from the documented constants, and target profiles.

The formulas below restate the module docstring's accounting in the test's own
words; they use the module's constants (so a recalibration, issue 6, moves both
sides) and the literal numbers with today's constants are given in comments and
pinned in ``test_hand_worked_int8_literal``.
"""

from __future__ import annotations

import pytest

import automl.cost._estimate as E
from automl.cost import CostEstimate, PipelineShape, TargetProfile, estimate_cost, list_targets, load_target
from automl.cost._targets import TARGETS_DIR
from automl.errors import ConfigError

M4F_80 = TargetProfile(name="t80", clock_mhz=80, flash_bytes=65536, ram_bytes=16384, latency_ms=10)

# One small pipeline: 100-sample windows of 6 channels; 4 selected features on
# 3 channels, one of them a magnitude, two of them percentiles of one channel;
# MLP 4 -> 8 -> 3.
FEATURES = ("Statistical.mean[accX]", "Statistical.std[accMag]", "Statistical.p25[gyrY]", "Statistical.iqr[gyrY]")


def _shape(q: str = "int8", features=FEATURES, layers=(8, 3), w: int = 100) -> PipelineShape:
    return PipelineShape(window_size=w, slide=50, n_channels=6, selected_features=tuple(features),
                         layers=tuple(layers), quantization=q)


def test_hand_worked_int8_from_constants():
    c = estimate_cost(_shape("int8"), M4F_80)
    w, k, n_ch = 100, 4, 6
    # MLP 4 -> 8 -> 3: weights 4*8 + 8*3 = 56, biases 8 + 3 = 11, 2 layers.
    n_w, n_b, n_l = 4 * 8 + 8 * 3, 8 + 3, 2
    flash = {
        # int8 weights 1 B, int32 biases 4 B, quantisation parameters per layer:
        # 56 + 44 + 2*16 = 132
        "model_constants": n_w * 1 + n_b * 4 + n_l * E.QUANT_PARAMS_BYTES,
        # 198 + 160 = 358
        "inference_code": E.DENSE_INT8_CODE + E.SOFTMAX_CODE,
        # mean 40 + std 60 + one shared percentile routine 132 (p25 and iqr),
        # 4 call sites * 8, magnitude routine 74 -> 232 + 32 + 74 = 338
        "feature_code": (E.GENERATOR_CODE["mean"] + E.GENERATOR_CODE["std"] + E.GENERATOR_CODE["p25"]
                         + k * E.FEATURE_CALL_BYTES + E.MAGNITUDE_CODE),
        # 64 + 4 * 8 = 96
        "scaler": E.SCALER_CODE + k * E.SCALER_CONST_BYTES,
        "runtime": E.RUNTIME_CODE,  # 420
    }
    ram = {
        "window_buffer": w * n_ch * E.SAMPLE_BYTES,  # 100 * 6 * 2 = 1200
        # one float copy for accMag, one for sorting gyrY: 4 * 100 * 2 = 800
        "feature_scratch": 4 * w * 2,
        "feature_vector": 4 * k + k,  # 16 float + 4 uint8 = 20
        "activations": 1 * 2 * 8,  # int8 ping-pong of the widest layer (8) = 16
        "stack": E.STACK_BYTES,  # 256
    }
    sort = E.SORT_CYCLES_PER_COMPARE * w * (w - 1) / 4 + 4 * w  # 9*9900/4 + 400 = 22675 (one channel)
    cycles = {
        # mean 4*100 + std 8*100 + sort 22675 + magnitude 26*100 = 400 + 800 + 22675 + 2600 = 26475
        "features": int(E.CYCLES_PER_SAMPLE["mean"] * w + E.CYCLES_PER_SAMPLE["std"] * w + sort
                        + E.MAGNITUDE_CYCLES_PER_SAMPLE * w),
        # 56 MACs * 11 + 11 outputs * 40 + 2 layers * 60 = 616 + 440 + 120 = 1176
        "inference": n_w * E.CYCLES_PER_MAC["int8"] + n_b * E.CYCLES_PER_OUTPUT["int8"] + n_l * E.CYCLES_PER_LAYER,
        "overhead": E.CLASSIFY_OVERHEAD_CYCLES + 20 * k,  # 400 + 80 = 480
    }
    assert c.breakdown["flash"] == flash
    assert c.breakdown["ram"] == ram
    assert c.breakdown["cycles"] == cycles
    assert c.breakdown["ingest_cycles_per_sample"] == E.INGEST_CYCLES_PER_SAMPLE * n_ch
    assert c.flash_bytes == sum(flash.values())
    assert c.ram_bytes == sum(ram.values())
    assert c.cycles == sum(cycles.values())
    # 80 MHz = 80,000 cycles per ms.
    assert c.latency_ms == pytest.approx(c.cycles / 80_000, rel=1e-12)


def test_hand_worked_int8_literal():
    # Today's constants (see the comments above); update with issue 6's calibration.
    c = estimate_cost(_shape("int8"), M4F_80)
    assert c.flash_bytes == 132 + 358 + 338 + 96 + 420 == 1344
    assert c.ram_bytes == 1200 + 800 + 20 + 16 + 256 == 2292
    assert c.cycles == 26475 + 1176 + 480 == 28131
    assert c.latency_ms == pytest.approx(28131 / 80_000)  # 0.3516375 ms
    d = c.as_dict()
    assert d == {"flash_bytes": 1344, "ram_bytes": 2292, "cycles": 28131, "latency_ms": c.latency_ms,
                 "breakdown": c.breakdown}


def test_hand_worked_float32_differs_only_in_model_parts():
    i8, f32 = estimate_cost(_shape("int8"), M4F_80), estimate_cost(_shape("float32"), M4F_80)
    # float32 constants: 4 B per weight and bias = 4 * (56 + 11) = 268.
    assert f32.breakdown["flash"]["model_constants"] == 4 * (56 + 11) == 268
    assert f32.breakdown["flash"]["inference_code"] == E.DENSE_FLOAT_CODE + E.SOFTMAX_CODE  # 88 + 160
    assert f32.breakdown["ram"]["activations"] == 4 * 2 * 8  # float ping-pong = 64
    # 56 * 10 + 11 * 8 + 2 * 60 = 560 + 88 + 120 = 768
    assert f32.breakdown["cycles"]["inference"] == (56 * E.CYCLES_PER_MAC["float32"]
                                                    + 11 * E.CYCLES_PER_OUTPUT["float32"] + 2 * E.CYCLES_PER_LAYER)
    for part in ("feature_code", "scaler", "runtime"):
        assert f32.breakdown["flash"][part] == i8.breakdown["flash"][part]
    for part in ("window_buffer", "feature_scratch", "feature_vector", "stack"):
        assert f32.breakdown["ram"][part] == i8.breakdown["ram"][part]
    assert f32.breakdown["cycles"]["features"] == i8.breakdown["cycles"]["features"]


def test_model_constants_16_12_8_4():
    # 16 features -> 12 -> 8 -> 4 classes.
    # weights 16*12 + 12*8 + 8*4 = 192 + 96 + 32 = 320; biases 12 + 8 + 4 = 24; 3 layers.
    feats = [f"Statistical.mean[ch{i}]" for i in range(16)]
    i8 = estimate_cost(_shape("int8", feats, (12, 8, 4)), M4F_80)
    f32 = estimate_cost(_shape("float32", feats, (12, 8, 4)), M4F_80)
    # int8: 320 * 1 + 24 * 4 + 3 * 16 = 320 + 96 + 48 = 464
    assert i8.breakdown["flash"]["model_constants"] == 320 + 24 * 4 + 3 * E.QUANT_PARAMS_BYTES == 464
    # float32: (320 + 24) * 4 = 1376
    assert f32.breakdown["flash"]["model_constants"] == (320 + 24) * 4 == 1376
    # Widest of 16, 12, 8, 4 is the 16-wide input: int8 2*16 = 32 B, float32 4*2*16 = 128 B.
    assert i8.breakdown["ram"]["activations"] == 32
    assert f32.breakdown["ram"]["activations"] == 128
    # Inference cycles: int8 320*11 + 24*40 + 3*60 = 3520 + 960 + 180 = 4660;
    #                   float32 320*10 + 24*8 + 180 = 3200 + 192 + 180 = 3572.
    assert i8.breakdown["cycles"]["inference"] == 4660
    assert f32.breakdown["cycles"]["inference"] == 3572
    # 16 features on 16 plain channels: 16 * mean cycles 4 * w 100 = 6400, no magnitude or sort.
    assert i8.breakdown["cycles"]["features"] == 16 * 4 * 100
    assert i8.breakdown["ram"]["feature_scratch"] == 0


def test_magnitude_is_shared_per_channel():
    one = estimate_cost(_shape(features=("Statistical.mean[accMag]",), layers=(3,)), M4F_80)
    same = estimate_cost(_shape(features=("Statistical.mean[accMag]", "Statistical.max[accMag]"), layers=(3,)), M4F_80)
    two = estimate_cost(_shape(features=("Statistical.mean[accMag]", "Statistical.max[gyrMag]"), layers=(3,)), M4F_80)
    none = estimate_cost(_shape(features=("Statistical.mean[accX]", "Statistical.max[gyrX]"), layers=(3,)), M4F_80)
    w = 100
    # accMag once: code 74 B, 4*w scratch, 26*w cycles.
    assert one.breakdown["ram"]["feature_scratch"] == 4 * w
    assert same.breakdown["ram"]["feature_scratch"] == 4 * w
    assert two.breakdown["ram"]["feature_scratch"] == 2 * 4 * w
    assert none.breakdown["ram"]["feature_scratch"] == 0
    # feature_code: mean 40 + max 36 + 2 calls * 8 (+ magnitude 74 once, even for two Mag channels)
    assert same.breakdown["flash"]["feature_code"] == 40 + 36 + 16 + 74
    assert two.breakdown["flash"]["feature_code"] == 40 + 36 + 16 + 74
    assert none.breakdown["flash"]["feature_code"] == 40 + 36 + 16
    # cycles: (4 + 5) * w per-sample work, plus 26 * w per magnitude channel.
    assert same.breakdown["cycles"]["features"] == (4 + 5) * w + 26 * w
    assert two.breakdown["cycles"]["features"] == (4 + 5) * w + 2 * 26 * w
    assert none.breakdown["cycles"]["features"] == (4 + 5) * w


def test_percentiles_share_one_sort_per_channel():
    w = 60
    sort_one = 9 * w * (w - 1) / 4 + 4 * w  # 9*3540/4 + 240 = 7965 + 240 = 8205
    assert sort_one == 8205
    trio = estimate_cost(_shape(features=("Statistical.p25[accX]", "Statistical.p75[accX]", "Statistical.iqr[accX]"),
                                layers=(3,), w=w), M4F_80)
    pair = estimate_cost(_shape(features=("Statistical.p25[accX]", "Statistical.p25[accY]"), layers=(3,), w=w), M4F_80)
    # One channel sorted once for all three percentile features; code 132 B once.
    assert trio.breakdown["cycles"]["features"] == 8205
    assert trio.breakdown["flash"]["feature_code"] == 132 + 3 * 8
    assert trio.breakdown["ram"]["feature_scratch"] == 4 * w  # one sort buffer
    # Two channels: two sorts, still one routine and one (reused) sort buffer.
    assert pair.breakdown["cycles"]["features"] == 2 * 8205
    assert pair.breakdown["flash"]["feature_code"] == 132 + 2 * 8
    assert pair.breakdown["ram"]["feature_scratch"] == 4 * w


def test_unknown_generator_uses_fallbacks():
    # An unlisted generator costs 100 B of code and 10 cycles per sample.
    c = estimate_cost(_shape(features=("Other.zcr[accX]",), layers=(3,)), M4F_80)
    assert c.breakdown["flash"]["feature_code"] == 100 + 8
    assert c.breakdown["cycles"]["features"] == 10 * 100


def test_latency_scales_with_clock():
    shape = _shape()
    nrf = load_target("nrf52840")  # 64 MHz
    c80, c64 = estimate_cost(shape, M4F_80), estimate_cost(shape, nrf)
    assert c80.cycles == c64.cycles
    assert c64.latency_ms == pytest.approx(c64.cycles / 64_000, rel=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"quantization": "int4"}, "unknown quantization 'int4'"),
    ({"selected_features": ("mean_accX",)}, "'mean_accX' is not of the form"),
])
def test_estimate_errors(kwargs, match):
    base = dict(window_size=100, slide=50, n_channels=6, selected_features=("Statistical.mean[accX]",),
                layers=(3,), quantization="int8")
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        estimate_cost(PipelineShape(**base), M4F_80)


# -- over_budget ------------------------------------------------------------


def test_over_budget_is_strict_and_names_each_budget():
    target = TargetProfile(name="t", clock_mhz=80, flash_bytes=1000, ram_bytes=500, latency_ms=10)
    assert CostEstimate(1000, 500, 800_000, 10.0).over_budget(target) == []  # equal fits
    assert CostEstimate(1001, 500, 0, 10.0).over_budget(target) == ["flash 1001 B > 1000 B"]
    assert CostEstimate(1000, 501, 0, 10.0).over_budget(target) == ["RAM 501 B > 500 B"]
    assert CostEstimate(1000, 500, 0, 10.25).over_budget(target) == ["latency 10.250 ms > 10.0 ms"]
    assert CostEstimate(2000, 600, 0, 11.0).over_budget(target) == [
        "flash 2000 B > 1000 B", "RAM 600 B > 500 B", "latency 11.000 ms > 10.0 ms"]


def test_small_pipeline_fits_shipped_targets():
    c = estimate_cost(_shape(), M4F_80)
    for name in list_targets():
        assert c.over_budget(load_target(name)) == [], name


# -- target profiles --------------------------------------------------------


@pytest.mark.parametrize("name, clock, flash, ram", [
    ("cortex-m4f-80mhz", 80.0, 65536, 16384),
    ("nrf52840", 64.0, 131072, 32768),
    ("stm32l4", 80.0, 131072, 32768),
])
def test_shipped_targets(name, clock, flash, ram):
    t = load_target(name)
    assert (t.name, t.core, t.clock_mhz, t.flash_bytes, t.ram_bytes, t.latency_ms, t.runtime) == (
        name, "cortex-m4f", clock, flash, ram, 10.0, "automl-c")
    assert t.description
    # Loading by path gives the same profile.
    assert load_target(TARGETS_DIR / f"{name}.yaml") == t


def test_list_targets():
    assert list_targets() == ["cortex-m4f-80mhz", "nrf52840", "stm32l4"]


def test_unknown_target_lists_shipped_ones():
    with pytest.raises(ConfigError, match=r"target profile 'nope' not found.*cortex-m4f-80mhz, nrf52840, stm32l4"):
        load_target("nope")


def test_missing_target_file(tmp_path):
    path = tmp_path / "mine.yaml"
    with pytest.raises(ConfigError, match="not found") as info:
        load_target(path)
    assert str(path) in str(info.value)


GOOD = "clock_mhz: 48\nflash_bytes: 1000\nram_bytes: 500\nlatency_ms: 5\n"


def test_target_from_own_file_defaults_name_to_stem(tmp_path):
    path = tmp_path / "board.yaml"
    path.write_text(GOOD)
    t = load_target(path)
    assert (t.name, t.clock_mhz, t.flash_bytes, t.ram_bytes, t.latency_ms, t.core) == (
        "board", 48.0, 1000, 500, 5.0, "cortex-m4f")


@pytest.mark.parametrize("text, field, what", [
    ("flash_bytes: 1000\nram_bytes: 500\nlatency_ms: 5\n", "clock_mhz", "Field required"),
    (GOOD.replace("flash_bytes: 1000", "flash_bytes: 0"), "flash_bytes", "greater than 0"),
    (GOOD.replace("latency_ms: 5", "latency_ms: soon"), "latency_ms", "valid number"),
    (GOOD + "flash_kb: 64\n", "flash_kb", "Extra inputs are not permitted"),
    ("", "clock_mhz", "Field required"),
])
def test_bad_target_field_names_file_and_field(tmp_path, text, field, what):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_target(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: field '{field}'"), msg
    assert what in msg


def test_bad_target_yaml_names_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("clock_mhz: [80\n")
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load_target(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_target_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 80\n- 1000\n")
    with pytest.raises(ConfigError, match="must be a mapping") as info:
        load_target(path)
    assert str(path) in str(info.value)
