"""Checker for chapter 5's sampling exercise: nucleus (top-p) filtering of a distribution.

The reader writes ``top_p_filter(p, top_p)``: for each row of probabilities, keep the most likely
characters until their probability reaches ``top_p`` (at least one), zero the rest and renormalise
(the reference is :func:`rnnbook.sampling.next_char_probs` with ``top_p``). Each wrong variant
below is the reference with one common mistake in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, run_check
from rnnbook.sampling import next_char_probs


def _case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    """B rows of V = D + H + 1 probabilities (distinct values: no ties at the boundary), and a top_p."""
    V = D + H + 1
    p = np.exp(rng.normal(0.0, 1.5, (B, V)))
    return p / p.sum(axis=1, keepdims=True), float(rng.uniform(0.3, 0.95))


def _reference(p: np.ndarray, top_p: float) -> Outputs:
    return {"q": next_char_probs(np.log(p), top_p=top_p)}


def _variant(p: np.ndarray, top_p: float, *, renormalise: bool = True, include_crossing: bool = True,
             ascending: bool = False, scatter_back: bool = True) -> Outputs:
    order = np.argsort(p if ascending else -p, axis=1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=1)
    total = np.cumsum(ranked, axis=1)
    keep = (total - ranked < top_p) if include_crossing else (total < top_p)
    keep[:, 0] = True
    kept = ranked * keep
    if renormalise:
        kept = kept / kept.sum(axis=1, keepdims=True)
    if not scatter_back:
        return {"q": kept}
    q = np.zeros_like(p)
    np.put_along_axis(q, order, kept, axis=1)
    return {"q": q}


#: The wrong answers :func:`~rnnbook.exercises.check_top_p_filter` recognises.
MISTAKES = (
    Mistake("not_renormalised", "the kept probabilities are not renormalised: divide them by their sum, "
            "so that each row sums to 1.", lambda p, top_p: _variant(p, top_p, renormalise=False)),
    Mistake("crossing_char_dropped", "the character whose probability makes the total reach top_p is "
            "dropped: keep a character while the mass *before* it is below top_p (cumsum - p < top_p), "
            "so the kept mass reaches top_p.", lambda p, top_p: _variant(p, top_p, include_crossing=False)),
    Mistake("sorted_ascending", "the least likely characters are kept: sort by decreasing probability "
            "(np.argsort(-p)).", lambda p, top_p: _variant(p, top_p, ascending=True)),
    Mistake("not_scattered_back", "the result is in sorted order: put each kept probability back at its "
            "character's index (np.put_along_axis with the sort order).",
            lambda p, top_p: _variant(p, top_p, scatter_back=False)),
)

#: The exercise of chapter 5, the nucleus (top-p) filter.
TOP_P_FILTER = Exercise(
    name="top_p_filter", arguments=("p", "top_p"), returns="q", make_case=_case, reference=_reference,
    layout=("q",), shapes={"q": "(B, V)"}, mistakes=MISTAKES, seed=5)


def check_top_p_filter(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(p, top_p) -> q``: nucleus filtering (chapter 5, sampling).

    ``p`` is (B, V), each row a probability distribution (V = D + H + 1 in the cases' sizes), and
    ``top_p`` a float in (0, 1). ``q`` (B, V) keeps, in each row, the most likely characters until
    their probability reaches ``top_p`` (at least one), renormalised, with zeros elsewhere.

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
        If ``fn`` is not callable or cannot take ``(p, top_p)``.
    """
    return run_check(TOP_P_FILTER, fn, verbose)
