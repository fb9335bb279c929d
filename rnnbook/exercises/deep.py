"""Checker for chapter 8's exercise: reversing each sequence of a padded batch within its own length.

The reader writes ``reverse_padded(X, lengths)``: ``X`` is (T, B, D), time-major and padded after each
sequence's end, ``lengths`` (B,) the valid steps of each; the result has each sequence's valid part
reversed in time and the padding left where it is (the reference is
:func:`rnnbook.numpy.stack.reverse_padded`). Each wrong variant below is the reference with one common
mistake in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, run_check
from rnnbook.numpy.stack import reverse_padded


def _case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    """A padded batch (T, B, D) and its lengths: the first sequence full, the second one step shorter."""
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    if B > 1:
        lengths[1] = max(1, T - 1)
    return rng.normal(size=(T, B, D)), lengths


def _reference(X: np.ndarray, lengths: np.ndarray) -> Outputs:
    return {"X_rev": reverse_padded(X, lengths)}


def _variant(X: np.ndarray, lengths: np.ndarray, *, shift: int = 0, padding: str = "kept") -> Outputs:
    """Each sequence's first ``lengths[b] - shift`` steps reversed; the rest kept (or zeroed)."""
    out = X.copy() if padding == "kept" else np.zeros_like(X)
    for b, L in enumerate(lengths):
        n = max(int(L) - shift, 0)
        out[:n, b] = X[:n, b][::-1]
        if padding == "zeros":
            out[n:, b] = 0.0
    return {"X_rev": out}


#: The wrong answers :func:`~rnnbook.exercises.check_reverse_padded` recognises.
MISTAKES = (
    Mistake("whole_padded_sequence_flipped", "the whole padded time axis is reversed (X[::-1]), so a short "
            "sequence starts on its padding; reverse only each sequence's first lengths[b] steps.",
            lambda X, lengths: {"X_rev": X[::-1].copy()}),
    Mistake("padding_zeroed", "the padding is set to zero; leave it where it is, unchanged (then the "
            "reversal is its own inverse, and its own backward).",
            lambda X, lengths: _variant(X, lengths, padding="zeros")),
    Mistake("length_off_by_one", "one step too few is reversed: lengths[b] counts the valid steps, so the "
            "last valid step is lengths[b] - 1 and it becomes step 0.",
            lambda X, lengths: _variant(X, lengths, shift=1)),
    Mistake("wrong_axis", "the batch axis is reversed; time is axis 0 (time-major, (T, B, D)).",
            lambda X, lengths: {"X_rev": X[:, ::-1].copy()}),
    Mistake("wrong_axis", "the feature axis is reversed; time is axis 0 (time-major, (T, B, D)).",
            lambda X, lengths: {"X_rev": X[..., ::-1].copy()}),
)

#: The exercise of chapter 8, the reversal of a padded batch by lengths.
REVERSE_PADDED = Exercise(
    name="reverse_padded", arguments=("X", "lengths"), returns="X_rev",
    make_case=_case, reference=_reference, layout=("X_rev",), shapes={"X_rev": "(T, B, D)"},
    mistakes=MISTAKES, uses_T=True, seed=8)


def check_reverse_padded(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(X, lengths) -> X_rev``: each sequence's valid part reversed (chapter 8, eq. ``deep-reverse``).

    ``X`` is (T, B, D), ``lengths`` an int array (B,) with values in [1, T]; ``X_rev[t, b]`` must be
    ``X[lengths[b] - 1 - t, b]`` for ``t < lengths[b]`` and ``X[t, b]`` after.

    Parameters
    ----------
    fn : callable
        The function to check.
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict
        True if ``fn`` agrees with the reference on every case; otherwise it names the worst entry,
        the error and the likely cause.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or cannot be called as ``fn(X, lengths)``.
    """
    return run_check(REVERSE_PADDED, fn, verbose)
