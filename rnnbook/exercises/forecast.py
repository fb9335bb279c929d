"""Checker for chapter 6's exercise: cutting a series into windows of inputs and targets.

The reader writes ``windows(series, lookback, horizon)``: for a series (T, D), the inputs
``X`` (L, N, D), time-major, and the targets ``Y`` (N, h) of column 0, one window per first target
``t = L, ..., T - h`` (the reference is :func:`rnnbook.data.make_windows`). In a case of sizes
(B, D, H, T), the lookback is T, the horizon H and the number of windows B. Each wrong variant
below is the reference with one common mistake in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.data import make_windows
from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, run_check


def _case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    """A random-walk series of T + H + B - 1 steps and D columns: exactly B windows of lookback T, horizon H."""
    return rng.normal(size=(T + H + B - 1, D)).cumsum(axis=0), T, H


def _reference(series: np.ndarray, lookback: int, horizon: int) -> Outputs:
    X, Y = make_windows(series, lookback, horizon)
    return {"X": X, "Y": Y}


def _variant(series: np.ndarray, lookback: int, horizon: int, *, shift: int = 0, reverse: bool = False,
             column: int = 0) -> Outputs:
    t = np.arange(lookback, len(series) - horizon + 1)[:, None]        # first targets (N, 1)
    X = np.transpose(series[t - lookback + np.arange(lookback)], (1, 0, 2))
    Y = series[t - shift + np.arange(horizon), column]
    return {"X": X[::-1] if reverse else X, "Y": Y}


#: The wrong answers :func:`~rnnbook.exercises.check_windows` recognises.
MISTAKES = (
    Mistake("targets_overlap_inputs", "the targets start at the last input (an off-by-one): the first target "
            "of a window is the step right after its last input, t = first input + lookback.",
            lambda s, L, h: _variant(s, L, h, shift=1)),
    Mistake("inputs_reversed", "the inputs run backwards in time: X[0] must be the oldest input and X[-1] the "
            "newest, the one just before the first target.", lambda s, L, h: _variant(s, L, h, reverse=True)),
    Mistake("wrong_target_column", "the targets come from the last column: Y holds column 0 of the series.",
            lambda s, L, h: _variant(s, L, h, column=-1)),
)

#: The exercise of chapter 6, windows of a series.
WINDOWS = Exercise(
    name="windows", arguments=("series", "lookback", "horizon"), returns="(X, Y)", make_case=_case,
    reference=_reference, layout=("X", "Y"), shapes={"X": "(L, N, D)", "Y": "(N, h)"}, mistakes=MISTAKES,
    uses_T=True, seed=6)


def check_windows(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(series, lookback, horizon) -> (X, Y)``: windows of a series (chapter 6).

    ``series`` is (T, D); ``X`` (lookback, N, D) holds the inputs of every window, time-major, and
    ``Y`` (N, horizon) its targets from column 0, for first targets ``t = lookback, ..., T - horizon``.

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
        If ``fn`` is not callable or cannot take ``(series, lookback, horizon)``.
    """
    return run_check(WINDOWS, fn, verbose)
