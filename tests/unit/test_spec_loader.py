"""Hardware spec loading: valid specs, every kind of bad input gives one clear error naming file and field."""
from __future__ import annotations

import textwrap

import pytest

from simulator.errors import SpecError
from simulator.spec.loader import apply_overrides, load_hardware, spec_from_dict
from simulator.yamlio import MAX_ALIASES, parse_yaml_text

H100 = "nvidia-h100-sxm"


def _write(tmp_path, text: str, name: str = "dev.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def _raw():
    return load_hardware(H100).model_dump(mode="json")


def test_catalogue_name_and_path_load_the_same_spec(tmp_path):
    import yaml

    p = _write(tmp_path, yaml.safe_dump(_raw()))
    assert load_hardware(p) == load_hardware(H100)


def test_unknown_key_is_named_with_a_suggestion():
    raw = _raw()
    raw["compute"]["sm_cont"] = 1
    with pytest.raises(SpecError) as exc:
        spec_from_dict(raw, "x.yaml")
    assert exc.value.field == "compute.sm_cont"
    assert "did you mean 'sm_count'" in str(exc.value)
    assert str(exc.value).startswith("x.yaml: ")


def _refused(raw: dict, path: tuple, value, fragment: str) -> None:
    """``raw`` with ``value`` at ``path`` is refused by one SpecError naming that field."""
    node = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(SpecError) as exc:
        spec_from_dict(raw, "bad.yaml")
    assert exc.value.field == ".".join(str(p) for p in path)
    assert fragment in str(exc.value) and str(exc.value).startswith("bad.yaml: ")


@pytest.mark.parametrize("path,value,fragment", [
    (("memory", 1, "bandwidth_gbs"), -5, "greater than 0"),
    (("memory", 1, "capacity_bytes"), 0, "greater than 0"),
    (("memory", 1, "capacity_bytes"), 1e30, "less than or equal"),
    (("compute", "sm_count"), 0, "greater than 0"),
    (("compute", "clock_ghz"), float("nan"), "finite"),
    (("power", "tdp_w"), float("inf"), "finite"),
    (("compute", "sm_count"), "many", "valid integer"),
])
def test_bad_values_name_the_field(path, value, fragment):
    _refused(_raw(), path, value, fragment)


@pytest.mark.parametrize("device,path,value,fragment", [
    # the GPU per-kernel floor (cost.gpu.kernel_floor_s)
    (H100, ("efficiency", "min_kernel_cycles"), -1.0, "greater than or equal to 0"),
    (H100, ("efficiency", "min_kernel_cycles"), float("nan"), "finite"),
    (H100, ("efficiency", "min_kernel_cycles"), "slow", "valid number"),
    # the DPU layer floor and pooling on the depthwise ALU (cost.fpga)
    ("amd-versal-vck190", ("compute", "dpu", "layer_floor_us"), -2.0, "greater than or equal to 0"),
    ("amd-versal-vck190", ("compute", "dpu", "layer_floor_us"), float("inf"), "finite"),
    ("amd-versal-vck190", ("compute", "dpu", "pool_on_alu"), "maybe", "valid boolean"),
    ("amd-versal-vck190", ("compute", "dpu", "pool_on_alu"), None, "valid boolean"),
])
def test_bad_new_fields_name_the_field(device, path, value, fragment):
    _refused(load_hardware(device).model_dump(mode="json"), path, value, fragment)


def test_missing_field_and_missing_kind():
    raw = _raw()
    del raw["power"]
    with pytest.raises(SpecError, match="power: required field is missing"):
        spec_from_dict(raw, "a.yaml")
    raw = _raw()
    del raw["kind"]
    with pytest.raises(SpecError, match="field 'kind' is missing"):
        spec_from_dict(raw, "a.yaml")
    raw = _raw()
    raw["kind"] = "npu"
    with pytest.raises(SpecError, match="unknown kind 'npu'"):
        spec_from_dict(raw, "a.yaml")


def test_idle_power_must_be_below_tdp():
    raw = _raw()
    raw["power"]["idle_w"] = 800
    with pytest.raises(SpecError, match="idle_w"):
        spec_from_dict(raw, "a.yaml")


def test_duplicate_keys_rejected(tmp_path):
    p = _write(tmp_path, "name: a\nname: b\n")
    with pytest.raises(SpecError, match="duplicate key 'name'"):
        load_hardware(p)


def test_malformed_yaml_names_line(tmp_path):
    p = _write(tmp_path, "name: [unclosed\nkind: gpu\n")
    with pytest.raises(SpecError) as exc:
        load_hardware(p)
    assert str(p) in str(exc.value) and "line" in str(exc.value)


@pytest.mark.parametrize("content,fragment", [
    (b"", "expected a mapping"),
    (b"\x00\x01\x02\xff\xfe", "not UTF-8"),
    (b"just a string", "expected a mapping"),
    (b"- 1\n- 2\n", "expected a mapping"),
    (b"a\x00b: 1", "binary"),
])
def test_not_a_spec(tmp_path, content, fragment):
    p = tmp_path / "junk.yaml"
    p.write_bytes(content)
    with pytest.raises(SpecError, match=fragment):
        load_hardware(p)


def test_alias_bomb_refused_quickly():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    prev = "a"
    for i in range(9):
        cur = f"b{i}"
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = cur
    with pytest.raises(SpecError, match=f"more than {MAX_ALIASES} YAML aliases"):
        parse_yaml_text("\n".join(lines), "bomb.yaml")


def test_deep_nesting_refused():
    with pytest.raises(SpecError, match="nested"):
        parse_yaml_text("[" * 200 + "]" * 200, "deep.yaml")


def test_python_tags_are_not_executed():
    with pytest.raises(SpecError, match="invalid YAML"):
        parse_yaml_text("x: !!python/object/apply:os.system ['echo hi']", "evil.yaml")


def test_oversized_file(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_bytes(b"a: " + b"x" * (3 * 1024 * 1024))
    with pytest.raises(SpecError, match=r"file is 3,145,731 bytes, above the limit of 2,097,152 bytes for a YAML file"):
        load_hardware(p)


def test_unknown_name_suggests():
    with pytest.raises(SpecError, match="did you mean nvidia-h100-sxm"):
        load_hardware("nvidia-h100-sxn")


def test_overrides_by_level_name_and_errors():
    hw = load_hardware(H100, {"memory.hbm.bandwidth_gbs": 5000, "hardware.compute.clock_ghz": 2.0})
    assert hw.main_memory.bandwidth_gbs == 5000 and hw.compute.clock_ghz == 2.0
    assert load_hardware(H100).main_memory.bandwidth_gbs == 3350  # the catalogue copy is untouched
    with pytest.raises(SpecError, match="override path not found"):
        load_hardware(H100, {"memory.ddr.bandwidth_gbs": 1})
    with pytest.raises(SpecError, match="memory.1.bandwidth_gbs"):
        load_hardware(H100, {"memory.hbm.bandwidth_gbs": -1})
    assert apply_overrides({"a": [{"name": "x", "v": 1}]}, {"a.0.v": 2}, "s")["a"][0]["v"] == 2


def test_specs_are_frozen():
    hw = load_hardware(H100)
    with pytest.raises(Exception):
        hw.compute.sm_count = 1  # type: ignore[misc]
