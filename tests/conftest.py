"""Shared fixtures and helpers for the rnnbook tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnbook.gradcheck import relative_error

# Shapes (T, B, D, H) every parity test runs over: the edge cases T=1 and B=1, D != H both ways.
SHAPES = [(1, 1, 1, 1), (1, 3, 4, 2), (5, 1, 2, 6), (7, 4, 5, 3), (12, 2, 3, 8)]

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

rel = relative_error


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
