"""Read a SCALE-Sim 3 ``.cfg`` file into an :class:`~simulator.spec.models.AsicSpec`.

SCALE-Sim describes one systolic array in an INI file::

    [general]
    run_name = example
    [architecture_presets]
    ArrayHeight: 32
    ArrayWidth: 32
    IfmapSramSzkB: 64
    FilterSramSzkB: 64
    OfmapSramSzkB: 64
    Dataflow: ws
    Bandwidth: 10
    [run_presets]
    InterfaceBandwidth: CALC

Mapping and the assumptions it needs (SCALE-Sim is cycle-based and has no clock, precision or energy):

* ``pe_rows = ArrayHeight``, ``pe_cols = ArrayWidth``, one array, the file's dataflow (``os``/``ws``/``is``);
  one MAC per PE per cycle at every precision (SCALE-Sim counts MACs, not bits).
* ``clock_ghz = 1.0``, so one cycle is one nanosecond and cycle counts read directly as ns.
* Memory: ``sram`` holds the three SRAMs (``(Ifmap + Filter + Ofmap) * 1024`` bytes) and is assumed to feed
  the array edge every cycle (``rows + 2 * cols`` words per cycle); ``dram`` moves ``Bandwidth`` words per
  cycle (the first value if a list; 10 when absent in CALC mode, SCALE-Sim's own CALC-mode
  read bandwidth). A word is 1 byte, SCALE-Sim's hard-coded word size, so ``GB/s = words/cycle * 1 GHz``.
  DRAM capacity is not in the file: 4 GiB is assumed.
* Energy, power and the vector path are not in a SCALE-Sim cfg: generic 28 nm estimates from
  Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm figures scaled by about 0.6).
* Efficiency is 1.0 with no per-op overhead: SCALE-Sim's compute cycles are stall-free and ideal.

Unlike SCALE-Sim (which warns and carries on), anything we cannot honour is refused: an unknown dataflow,
sparsity support, a duplicate key, a non-integer size, an unknown key in ``[architecture_presets]``.
"""
from __future__ import annotations

import configparser
import difflib
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import SpecError
from ..yamlio import read_bounded_text
from ..validation_errors import spec_error_from_validation
from .models import AsicSpec

MAX_CFG_BYTES = 1024 * 1024
MAX_ARRAY_DIM = 65_536
MAX_SRAM_KB = 10**9
CLOCK_GHZ = 1.0
WORD_BYTES = 1  # SCALE-Sim's word size (single_layer_sim.py: word_size = 1)
CALC_BANDWIDTH_WORDS = 10  # SCALE-Sim's CALC-mode backing read bandwidth, words per cycle
DRAM_CAPACITY_BYTES = 4 * 1024**3
HOROWITZ = "not in SCALE-Sim cfg; generic 28 nm estimate (Horowitz ISSCC 2014)"
# pJ per FLOP (half a MAC): Horowitz 45 nm MAC energies (int8 0.23, fp16 1.5, fp32 4.6 pJ) x ~0.6 / 2, rounded
ENERGY_PJ_PER_FLOP = {"int8": 0.07, "int16": 0.2, "fp16": 0.45, "bf16": 0.45, "fp32": 1.4}
SRAM_PJ_PER_BYTE = 3.0  # ~20 pJ per 64-bit read of a 32 KB SRAM at 45 nm, scaled to 28 nm
DRAM_PJ_PER_BYTE = 160.0  # 1.3-2.6 nJ per 64-bit DRAM access (does not scale with the logic node)

ARCH = "architecture_presets"
ARCH_KEYS = ("ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB", "IfmapOffset",
             "FilterOffset", "OfmapOffset", "Bandwidth", "Dataflow", "MemoryBanks", "ReadRequestBuffer",
             "WriteRequestBuffer")
KNOWN_SECTIONS = ("general", ARCH, "layout", "sparsity", "run_presets", "network_presets")
DATAFLOWS = ("os", "ws", "is")


Sections = dict[str, dict[str, tuple[str, str]]]  # section -> lower-cased key -> (key as written, value)


def _parse(text: str, source: str) -> Sections:
    """INI text to sections of case-insensitive keys (as SCALE-Sim's ConfigParser), keeping the spelling."""
    parser = configparser.ConfigParser(strict=True, interpolation=None, default_section="\0none")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=source)
    except configparser.MissingSectionHeaderError as exc:
        raise SpecError(source, "", f"not a SCALE-Sim cfg: line {exc.lineno} comes before any [section]") from None
    except configparser.DuplicateSectionError as exc:
        raise SpecError(source, exc.section, f"duplicate section (line {exc.lineno})") from None
    except configparser.DuplicateOptionError as exc:
        raise SpecError(source, f"{exc.section}.{exc.option}", f"duplicate key (line {exc.lineno})") from None
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise SpecError(source, "", f"not a SCALE-Sim cfg: {first}") from None
    sections: Sections = {}
    for section in parser.sections():
        if section not in KNOWN_SECTIONS:
            close = difflib.get_close_matches(section, KNOWN_SECTIONS, n=1)
            hint = f"; did you mean [{close[0]}]?" if close else f"; known: {', '.join(KNOWN_SECTIONS)}"
            raise SpecError(source, section, f"unknown section{hint}")
        keys: dict[str, tuple[str, str]] = {}
        for key, value in parser.items(section):
            if key.lower() in keys:
                raise SpecError(source, f"{section}.{key}", f"duplicate key (also spelt {keys[key.lower()][0]})")
            keys[key.lower()] = (key, value.strip())
        sections[section] = keys
    for section in (ARCH, "run_presets"):
        if section not in sections:
            raise SpecError(source, section, "missing section")
    lower = {k.lower(): k for k in ARCH_KEYS}
    for low, (key, _) in sections[ARCH].items():
        if low not in lower:
            close = difflib.get_close_matches(low, list(lower), n=1)
            hint = f"; did you mean {lower[close[0]]}?" if close else f"; known: {', '.join(ARCH_KEYS)}"
            raise SpecError(source, f"{ARCH}.{key}", f"unknown key{hint}")
    return sections


def _get(sections: Sections, source: str, section: str, key: str) -> str:
    found = sections.get(section, {}).get(key.lower())
    if found is None:
        raise SpecError(source, f"{section}.{key}", "missing key")
    return found[1]


def _int(sections: Sections, source: str, key: str, *, high: int, section: str = ARCH) -> int:
    text = _get(sections, source, section, key)
    if not re.fullmatch(r"[+]?\d{1,12}", text):
        raise SpecError(source, f"{section}.{key}", f"must be a positive integer, got {text!r}")
    value = int(text)
    if not 0 < value <= high:
        raise SpecError(source, f"{section}.{key}", f"must be in 1..{high}, got {value}")
    return value


def _dram_words(sections: Sections, source: str, mode: str) -> int:
    if "bandwidth" not in sections[ARCH]:
        if mode == "USER":
            raise SpecError(source, f"{ARCH}.Bandwidth", "missing key (required with InterfaceBandwidth: USER)")
        return CALC_BANDWIDTH_WORDS
    first = _get(sections, source, ARCH, "Bandwidth").split(",")[0].strip()
    if not re.fullmatch(r"[+]?\d{1,9}", first) or int(first) <= 0:
        raise SpecError(source, f"{ARCH}.Bandwidth", f"must be a positive integer (words per cycle), got {first!r}")
    return int(first)


def _check_flags(sections: Sections, source: str) -> str:
    mode = _get(sections, source, "run_presets", "InterfaceBandwidth")
    if mode not in ("CALC", "USER"):
        raise SpecError(source, "run_presets.InterfaceBandwidth", f"must be CALC or USER, got {mode!r}")
    if "sparsitysupport" in sections.get("sparsity", {}):
        flag = _get(sections, source, "sparsity", "SparsitySupport").lower()
        if flag not in ("false", "0", "no", "off"):
            raise SpecError(source, "sparsity.SparsitySupport",
                            f"sparsity is not modelled; set it to false (got {flag!r})")
    return mode


def spec_name(path: Path) -> str:
    """Catalogue-style name from a file name: lower case, runs of other characters turned into ``-``.

    Example:
        >>> spec_name(Path("configs/Google TPU v1.cfg"))
        'google-tpu-v1'
    """
    name = re.sub(r"[^a-z0-9_.\-]+", "-", path.stem.lower()).strip("-._")[:80].rstrip("-._")
    return name or "scalesim-cfg"


def _raw_spec(path: Path, *, rows: int, cols: int, dataflow: str, sram_kb: int, dram_words: int,
              mode: str) -> dict[str, Any]:
    precisions = ("int8", "int16", "fp16", "bf16", "fp32")
    peak_flops = rows * cols * 2 * CLOCK_GHZ * 1e9
    tdp_w = round(max(0.5, peak_flops * ENERGY_PJ_PER_FLOP["fp32"] * 1e-12 * 1.5), 3)  # +50% for buffers, control
    cfg = f"SCALE-Sim cfg {path.name}"
    return {
        "name": spec_name(path), "kind": "asic", "vendor": "SCALE-Sim config",
        "display_name": f"SCALE-Sim {rows}x{cols} {dataflow} ({path.name})"[:200],
        "compute": {
            "pe_rows": rows, "pe_cols": cols, "arrays": 1, "clock_ghz": CLOCK_GHZ, "dataflow": dataflow,
            "macs_per_pe_per_cycle": dict.fromkeys(precisions, 1),
            "vector_flops_per_cycle": dict.fromkeys(precisions, cols),
            "source": f"{cfg}: ArrayHeight/ArrayWidth/Dataflow; one MAC per PE per cycle at any precision "
                      "(SCALE-Sim counts MACs); clock 1 GHz assumed (SCALE-Sim is cycle-based); vector path "
                      "one op per column per cycle assumed (SCALE-Sim models none)",
        },
        "memory": [
            {"name": "sram", "capacity_bytes": sram_kb * 1024, "energy_pj_per_byte": SRAM_PJ_PER_BYTE,
             "bandwidth_gbs": (rows + 2 * cols) * WORD_BYTES * CLOCK_GHZ,
             "source": f"{cfg}: Ifmap+Filter+OfmapSramSzkB; bandwidth assumed to feed the array edge every "
                       f"cycle ((rows + 2 cols) 1-byte words); energy {HOROWITZ}"},
            {"name": "dram", "capacity_bytes": DRAM_CAPACITY_BYTES, "energy_pj_per_byte": DRAM_PJ_PER_BYTE,
             "bandwidth_gbs": dram_words * WORD_BYTES * CLOCK_GHZ,
             "source": f"{cfg}: Bandwidth {dram_words} words/cycle x 1 B (SCALE-Sim word) x 1 GHz "
                       f"(InterfaceBandwidth {mode}); capacity 4 GiB assumed; energy {HOROWITZ}"},
        ],
        "power": {"tdp_w": tdp_w, "idle_w": round(tdp_w * 0.1, 4), "energy_pj_per_flop": ENERGY_PJ_PER_FLOP,
                  "source": f"{HOROWITZ}; TDP = peak MAC rate x fp32 energy x 1.5, idle 10% of it"},
        "efficiency": {"compute": 1.0, "vector": 1.0, "memory": 1.0, "op_overhead_us": 0.0,
                       "fitted_to": "SCALE-Sim compute cycles are ideal and stall-free: no derating"},
        "notes": "Imported from a SCALE-Sim cfg by simulator/spec/scalesim_cfg.py; see its docstring for the "
                 "assumptions (1 GHz clock, 1-byte words, energy estimates).",
    }


def load_scalesim_cfg(path: str | Path) -> AsicSpec:
    """Load a SCALE-Sim 3 ``.cfg`` file as a one-array :class:`AsicSpec` (see the module docstring).

    Raises:
        SpecError: unreadable, binary or oversized file, not INI, missing section or key, duplicate key,
            non-integer or non-positive size, unknown dataflow, sparsity enabled (file and key named).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "tpu_like.cfg"
        >>> _ = p.write_text("[architecture_presets]\\nArrayHeight: 32\\nArrayWidth: 8\\nIfmapSramSzkB: 64\\n"
        ...                  "FilterSramSzkB: 64\\nOfmapSramSzkB: 32\\nDataflow: ws\\n[run_presets]\\n"
        ...                  "InterfaceBandwidth: CALC\\n")
        >>> spec = load_scalesim_cfg(p)
        >>> spec.name, spec.compute.pe_rows, spec.compute.pe_cols, spec.memory[0].capacity_bytes
        ('tpu_like', 32, 8, 163840.0)
    """
    path = Path(path)
    source = str(path)
    sections = _parse(read_bounded_text(path, limit_bytes=MAX_CFG_BYTES, what="a SCALE-Sim cfg"), source)
    mode = _check_flags(sections, source)
    rows = _int(sections, source, "ArrayHeight", high=MAX_ARRAY_DIM)
    cols = _int(sections, source, "ArrayWidth", high=MAX_ARRAY_DIM)
    sram_kb = sum(_int(sections, source, key, high=MAX_SRAM_KB)
                  for key in ("IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB"))
    dataflow = _get(sections, source, ARCH, "Dataflow")
    if dataflow not in DATAFLOWS:
        raise SpecError(source, f"{ARCH}.Dataflow", f"must be one of os, ws, is (lower case), got {dataflow!r}")
    raw = _raw_spec(path, rows=rows, cols=cols, dataflow=dataflow, sram_kb=sram_kb,
                    dram_words=_dram_words(sections, source, mode), mode=mode)
    try:
        return AsicSpec.model_validate(raw)
    except ValidationError as exc:
        raise spec_error_from_validation(exc, source, AsicSpec) from None
