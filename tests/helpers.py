"""Shared helpers for tests: small scenarios built from plain data."""

from __future__ import annotations

import atexit
import copy
import shutil
import tempfile
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


def indigo_fixture_dir() -> Path:
    """Made-up rows in INDIGO's export format, written under INDIGO's own file names.

    The project keeps them as ``tests/fixtures/indigo/<table>.csv`` (our own small
    fixtures, not a copy of the data set); the importer finds related tables by
    INDIGO's names (``original_projects_investments.csv``...), so tests read a
    temporary copy named that way.
    """
    target = Path(tempfile.mkdtemp(prefix="pfs-indigo-fixture-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    for table in (ROOT / "tests" / "fixtures" / "indigo").glob("*.csv"):
        shutil.copy(table, target / f"original_{table.name}")
    return target
