"""Shared fixtures for integration tests: they run the real `eddy` binary."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def bin_dir() -> pathlib.Path:
    d = pathlib.Path(os.environ.get("EDDY_BIN_DIR", ROOT / "build" / "release" / "bin"))
    if not (d / "eddy").exists():
        pytest.fail(f"eddy binary not found in {d}; build first (scripts/build.sh) or set EDDY_BIN_DIR")
    return d


@pytest.fixture(scope="session")
def eddy(bin_dir) -> str:
    return str(bin_dir / "eddy")
