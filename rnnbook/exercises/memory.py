"""Checker for chapter 7's exercise: the target of the original adding problem, read from its input.

The reader writes ``adding_target(X)``: for a batch ``X`` (L, B, 2) of
:func:`rnnbook.data.adding_problem_original` (values in channel 0, markers in channel 1), return
the target :math:`0.5 + (X_1 + X_2)/4` of each sequence, shape (B, 1), where :math:`X_1, X_2` are
the values of the two steps marked with 1. Each wrong variant below is the reference with one
common mistake in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.data import adding_problem_original
from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, run_check


def _case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    """A batch of B sequences of the original adding problem, at least 22 steps long (its minimum)."""
    X, _ = adding_problem_original(B, 22 + 2 * T * H, rng, dtype=np.float64)
    return (X,)


def _variant(X: np.ndarray, *, marker: str = "ones", offset: float = 0.5, scale: float = 0.25) -> Outputs:
    values, markers = X[..., 0], X[..., 1]
    weight = (markers == 1) if marker == "ones" else markers    # "all": the -1 markers count too
    total = (values * weight).sum(axis=0)                       # X_1 + X_2        (B,)
    return {"y": (offset + scale * total)[:, None]}             # 0.5 + (X_1 + X_2)/4   (B, 1)


def _reference(X: np.ndarray) -> Outputs:
    return _variant(X)


#: The wrong answers :func:`~rnnbook.exercises.check_adding_target` recognises.
MISTAKES = (
    Mistake("minus_ones_counted", "the values under the -1 markers of the first and last steps are subtracted: "
            "multiplying the values by the marker channel counts them; select the steps whose marker is 1 "
            "(X[..., 1] == 1).", lambda X: _variant(X, marker="all")),
    Mistake("le_variant", "this is the plain sum X_1 + X_2, the target of Le et al.'s variant; the original "
            "scales it into [0, 1]: 0.5 + (X_1 + X_2) / 4.", lambda X: _variant(X, offset=0.0, scale=1.0)),
    Mistake("no_offset", "the 0.5 is missing: the target is 0.5 + (X_1 + X_2) / 4.",
            lambda X: _variant(X, offset=0.0)),
    Mistake("halved_not_quartered", "the sum is divided by 2; the target is 0.5 + (X_1 + X_2) / 4.",
            lambda X: _variant(X, scale=0.5)),
)

#: The exercise of chapter 7, the original adding problem's target.
ADDING_TARGET = Exercise(
    name="adding_target", arguments=("X",), returns="y", make_case=_case, reference=_reference,
    layout=("y",), shapes={"y": "(B, 1)"}, mistakes=MISTAKES, seed=7)


def check_adding_target(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(X) -> y``: the target of the original adding problem (chapter 7).

    ``X`` is (L, B, 2), a float64 batch of :func:`rnnbook.data.adding_problem_original`; ``y`` (B, 1)
    is :math:`0.5 + (X_1 + X_2)/4`, with :math:`X_1, X_2` the values at the steps whose marker is 1.

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
        If ``fn`` is not callable or cannot take ``(X,)``.
    """
    return run_check(ADDING_TARGET, fn, verbose)
