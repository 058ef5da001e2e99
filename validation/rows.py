"""The measurement tables of validation/data/*.csv, read into typed :class:`Row` s.

What a row becomes is decided elsewhere: :mod:`validation.mapping` maps a row to a
:class:`~validation.cases.Case` (or an :class:`~validation.cases.Unexpressible` naming the reason).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
MEASUREMENTS = DATA / "measurements.csv"
# every table scored and fitted by make validate (the external table is never fitted)
CALIBRATION_FILES = tuple(DATA / f for f in ("measurements.csv", "cpu.csv", "tpu.csv", "fpga.csv", "edge.csv",
                                                "asic.csv"))


@dataclass(frozen=True)
class Row:
    """One line of measurements.csv, typed."""

    id: str
    device: str
    n_devices: int | None
    workload: str
    mode: str
    precision: str
    batch_size: str
    shape: str
    metric: str
    value: float
    software: str
    notes: str
    source: str = ""

    @property
    def number(self) -> int:
        return int(re.sub(r"\D", "", self.id) or 0)

    @property
    def trust(self) -> str:
        m = re.search(r"trust=(\w+)", self.notes)
        return m.group(1) if m else "?"


def read_calibration() -> list[Row]:
    """Every row of the calibration tables (:data:`CALIBRATION_FILES`), in file order.

    Raises:
        ValueError: an id appears twice.
    """
    rows = [r for path in CALIBRATION_FILES for r in read_rows(path)]
    seen: set[str] = set()
    for r in rows:
        if r.id in seen:
            raise ValueError(f"validation data: row id {r.id} appears twice")
        seen.add(r.id)
    return rows


def read_rows(path: Path = MEASUREMENTS) -> list[Row]:
    """Parse one measurement table into rows (ids as written, values as floats)."""
    out: list[Row] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            n = r.get("n_devices", "").strip()
            if r["precision"].strip().lower() == "see above" and out:
                r["precision"] = f"{out[-1].precision} (from row {out[-1].id}: 'see above')"
            out.append(Row(id=r["id"].strip(), device=r["device"].strip(), n_devices=int(n) if n.isdigit() else None,
                           workload=r["workload"].strip(), mode=r["mode"].strip(), precision=r["precision"].strip(),
                           batch_size=r["batch_size"].strip(), shape=r["seq_len_or_image_size"].strip(),
                           metric=r["metric"].strip(), value=float(r["value"]), software=r.get("software", "").strip(),
                           notes=r.get("notes", "").strip(), source=r.get("source", "").strip()))
    return out
