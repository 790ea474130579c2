"""Shared fixtures: the real-model outputs from shared/fixtures (via CYCLERESEARCHER_FIXTURES) and
the embedded SmolLM2 model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The conformance fixtures. Unset variable: skip. Set but missing: FAIL (CI must see them)."""
    value = os.environ.get("CYCLERESEARCHER_FIXTURES")
    if not value:
        pytest.skip("CYCLERESEARCHER_FIXTURES is not set (conformance tests on real model outputs skipped)")
    path = Path(value)
    if not path.is_dir():
        pytest.fail(f"CYCLERESEARCHER_FIXTURES={value} is set but is not a directory")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Our own small fixtures (own words, same formats as the released models)."""
    return DATA


@pytest.fixture(scope="session")
def embedded_gguf() -> str:
    from cycleresearcher.models import embedded_model_path

    return str(embedded_model_path())


@pytest.fixture(scope="session")
def embedded_hf_dir(embedded_gguf: str) -> str:
    """The embedded model converted once to a transformers directory (cached across runs)."""
    pytest.importorskip("transformers")
    from cycleresearcher.hfmodels import hf_model_dir

    return hf_model_dir(embedded_gguf)
