"""Shared helpers for tests: small scenarios built from plain data."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

import pfs

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "scenarios" / "teaching_reentry.yaml"
RIKERS = ROOT / "scenarios" / "nyc_rikers_able.yaml"


def teaching_data() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(TEACHING.read_text()))


def write_yaml(tmp_path: Path, data: Any, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def teaching() -> pfs.Scenario:
    return pfs.load_scenario(TEACHING)
