"""Shared fixtures and helpers for the rnnbook tests."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch
from hypothesis import settings

from rnnbook.gradcheck import relative_error

# Shapes (T, B, D, H) every parity test runs over: the edge cases T=1 and B=1, D != H both ways.
SHAPES = [(1, 1, 1, 1), (1, 3, 4, 2), (5, 1, 2, 6), (7, 4, 5, 3), (12, 2, 3, 8)]

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

rel = relative_error


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# Hypothesis profiles for tests/test_properties.py. The default is what `make test` and CI run:
# 25 examples per property, the same ones every run (derandomize), no example database on disk.
# HYPOTHESIS_PROFILE=thorough draws 500 fresh random examples per property.
settings.register_profile("default", max_examples=25, deadline=None, derandomize=True, database=None)
settings.register_profile("thorough", max_examples=500, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_terminal_summary(terminalreporter) -> None:
    """After a run of tests/test_properties.py: how many examples ran and the largest error, per layer."""
    properties = sys.modules.get("tests.test_properties")
    if properties is None or not properties.WORST:
        return
    terminalreporter.write_sep("-", f"property-based parity ({settings().max_examples} examples per property)")
    for kind, (runs, worst) in properties.WORST.items():
        terminalreporter.write_line(f"{kind}: {runs} examples, largest relative error {worst:.1e}")
