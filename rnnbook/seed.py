"""Seeding Python, NumPy and torch in one call, so every chapter cell is reproducible."""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed ``random``, NumPy's global generator and torch (CPU and every GPU, if installed).

    Parameters
    ----------
    seed : int
        A non-negative integer.

    Returns
    -------
    numpy.random.Generator
        A fresh generator seeded with ``seed``: pass it explicitly to whatever draws numbers
        (``rnnbook.numpy`` layers take ``rng=``) rather than relying on global state.

    Raises
    ------
    TypeError, ValueError
        If ``seed`` is not a non-negative int.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses; this process's hashing is fixed at start
    try:
        import torch
    except ImportError:  # rnnbook.numpy works without torch
        pass
    else:
        torch.manual_seed(seed)  # seeds the CPU generator and every CUDA/MPS device
    return np.random.default_rng(seed)
