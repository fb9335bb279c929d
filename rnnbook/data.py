"""Synthetic sequence tasks, generated on the spot (nothing is downloaded).

Each generator takes an explicit ``numpy.random.Generator`` so that a chapter's experiment is
reproducible, and returns time-major NumPy arrays ``X`` of shape ``(T, B, D)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.checks import check_float_dtype, check_int, check_rng, check_size


def adding_problem(batch_size: int, T: int, rng: np.random.Generator,
                   dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem, in the variant of Le et al. (2015): a test of long-range memory.

    Each sequence has two channels: ``X[:, b, 0]`` holds values drawn uniformly from [0, 1), and
    ``X[:, b, 1]`` marks exactly two positions with a 1, one drawn uniformly from the first half of
    the sequence (steps ``0 .. T//2 - 1``) and one from the second (``T//2 .. T - 1``). The target
    is the sum of the two marked values, so a model must remember the first marked value for up to
    ``T`` steps. This is the form of Le et al. (2015) {cite}`le2015simple`, also used by Arjovsky,
    Shah & Bengio (2016, "Unitary evolution recurrent neural networks"). The original, Experiment 4 of Hochreiter & Schmidhuber (1997)
    {cite}`hochreiter1997long`, differs: values in [-1, 1], the first marker among the first ten
    steps and the second in the first half, and the target 0.5 + (X1 + X2) / 4.

    Predicting the mean target (1.0) for every sequence gives a mean squared error of
    :math:`\\operatorname{Var}(u_1 + u_2) = 2/12 \\approx 0.167`: the baseline to beat.

    Parameters
    ----------
    batch_size : int
        B, the number of sequences.
    T : int
        The sequence length, at least 2.
    rng : numpy.random.Generator
    dtype : numpy dtype, default float32

    Returns
    -------
    X : ndarray, shape (T, B, 2)
    y : ndarray, shape (B, 1)

    Raises
    ------
    TypeError, ValueError
        If ``batch_size`` or ``T`` is not a positive int, ``T < 2``, ``rng`` is not a Generator,
        or ``dtype`` is not a floating type.
    """
    B, T = check_size("batch_size", batch_size), check_size("T", T)
    if T < 2:
        raise ValueError(f"T must be at least 2 (one marker in each half), got {T}")
    check_rng(rng)
    dtype = check_float_dtype("dtype", dtype)
    values = rng.random((T, B))
    half = T // 2
    first = rng.integers(0, half, size=B)         # one marker in the first half
    second = rng.integers(half, T, size=B)        # one in the second half
    markers = np.zeros((T, B))
    markers[first, np.arange(B)] = 1.0
    markers[second, np.arange(B)] = 1.0
    X = np.stack([values, markers], axis=-1).astype(dtype)   # (T, B, 2)
    y = (values * markers).sum(axis=0, keepdims=True).T.astype(dtype)  # (B, 1)
    return X, y


#: The MSE of always predicting the mean, 1.0, on :func:`adding_problem`; a model must beat it to have learnt anything.
ADDING_BASELINE_MSE = 2.0 / 12.0


def delayed_echo(batch_size: int, T: int, delay: int, rng: np.random.Generator,
                 dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Echo the input ``delay`` steps later: :math:`y_t = x_{t - d}` (and 0 for :math:`t \\le d`).

    A many-to-many memory task whose memory span is exactly ``delay``: a model trained with
    gradients truncated to fewer than ``delay`` steps cannot link :math:`y_t` to :math:`x_{t-d}`
    (chapter 2). Inputs are independent standard normal values, so predicting 0 gives an MSE of
    about 1 on the echoed steps: the baseline to beat.

    Parameters
    ----------
    batch_size, T : int
        B and the sequence length.
    delay : int
        d, with ``0 <= delay < T``.
    rng : numpy.random.Generator
    dtype : numpy dtype, default float32

    Returns
    -------
    X : ndarray, shape (T, B, 1)
    Y : ndarray, shape (T, B, 1)

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive int, ``delay`` is not an int in ``[0, T)``, ``rng`` is not a
        Generator, or ``dtype`` is not a floating type.
    """
    B, T = check_size("batch_size", batch_size), check_size("T", T)
    delay = check_int("delay", delay, minimum=0, maximum=T - 1)
    check_rng(rng)
    dtype = check_float_dtype("dtype", dtype)
    X = rng.standard_normal((T, B, 1)).astype(dtype)
    Y = np.zeros_like(X)
    Y[delay:] = X[: T - delay]  # y_t = x_{t-d}
    return X, Y
