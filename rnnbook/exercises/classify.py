"""Checker for chapter 9's exercise: read each sequence's last valid state out of a padded batch.

The reader writes ``last_valid(Y, lengths)`` in NumPy: ``Y`` (T, B, H) holds a unidirectional
layer's outputs over a padded batch and ``lengths`` (B,) each sequence's own length, in ``[1, T]``
(not sorted); the result (B, H) is ``Y[lengths[b] - 1, b]`` for every b (the reference does what
:func:`rnnbook.torch.classify.last_valid` does). Each wrong variant below is one common mistake.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, run_check


def _case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    """Y (T, B, H) and lengths (B,) in [1, T], unsorted, with the full length T and (if B > 1) one at
    least two steps shorter (one if T = 2), so that each common mistake gives wrong numbers."""
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    if B > 1 and T > 1:
        lengths[-1] = rng.integers(1, max(T - 1, 2))
    return rng.normal(size=(T, B, H)), lengths.astype(np.int64)


def _gather(Y: np.ndarray, steps: np.ndarray) -> Outputs:
    return {"h_last": Y[steps, np.arange(Y.shape[1])]}


def _reference(Y: np.ndarray, lengths: np.ndarray) -> Outputs:
    return _gather(Y, lengths - 1)


#: The wrong answers :func:`~rnnbook.exercises.check_last_valid` recognises.
MISTAKES = (
    Mistake("padded_last_step", "this is Y[-1], the batch's last step: for a sequence shorter than T it is the "
            "state after reading padding. Read step lengths[b] - 1 of sequence b.",
            lambda Y, lengths: {"h_last": Y[-1]}),
    Mistake("first_step", "this is Y[0], the state after the first character only: read step lengths[b] - 1.",
            lambda Y, lengths: {"h_last": Y[0]}),
    Mistake("one_step_early", "one step early: the last valid step of a sequence of length l is l - 1 "
            "(counted from 0), not l - 2.", lambda Y, lengths: _gather(Y, np.maximum(lengths - 2, 0))),
    Mistake("one_step_late", "one step late: a sequence of length l ends at index l - 1, and Y[l] is already "
            "padding (or past the end).", lambda Y, lengths: _gather(Y, np.minimum(lengths, Y.shape[0] - 1))),
)

#: The exercise of chapter 9, the last-valid-state readout.
LAST_VALID = Exercise(
    name="last_valid", arguments=("Y", "lengths"), returns="h_last", make_case=_case, reference=_reference,
    layout=("h_last",), shapes={"h_last": "(B, H)"}, mistakes=MISTAKES, uses_T=True, seed=9)


def check_last_valid(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(Y, lengths) -> h_last``: each sequence's last valid state (chapter 9).

    ``Y`` is (T, B, H) float64, ``lengths`` (B,) int64 in ``[1, T]``; ``h_last`` (B, H) is
    ``Y[lengths[b] - 1, b]`` for each b.

    Parameters
    ----------
    fn : callable
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict
        True if ``fn`` passed.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or cannot take ``(Y, lengths)``.
    """
    return run_check(LAST_VALID, fn, verbose)
