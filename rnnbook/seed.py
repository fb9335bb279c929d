"""Seeding Python, NumPy and torch in one call, so every chapter cell is reproducible."""

from __future__ import annotations

import os
import random

import numpy as np

from rnnbook.checks import check_int


def seed_everything(seed: int) -> np.random.Generator:
    """Seed ``random``, NumPy's global generator and torch (CPU and every GPU, if installed).

    Parameters
    ----------
    seed : int
        A non-negative integer (a NumPy integer is converted to int).

    Returns
    -------
    numpy.random.Generator
        A fresh generator seeded with ``seed``: pass it explicitly to whatever draws numbers
        (``rnnbook.numpy`` layers take ``rng=``) rather than relying on global state.

    Raises
    ------
    TypeError, ValueError
        If ``seed`` is not a non-negative int (bools, floats and None are refused).
    """
    seed = check_int("seed", seed, minimum=0)  # np.int64(3) becomes 3, which random.seed accepts
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
