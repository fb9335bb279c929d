"""Checker for chapter 12's exercise: the Hillis-Steele scan of a linear recurrence, by hand.

The reader writes ``hillis_steele(a, b) -> h``: for coefficients ``a, b`` of shape (L, B, H), all of
:math:`h_t = a_t h_{t-1} + b_t` from :math:`h_0 = 0`, computed in rounds: in round d every position
:math:`t \\ge 2^d` is combined with position :math:`t - 2^d` by eq. ``scan-combine``,
:math:`(a_1, b_1) \\bullet (a_2, b_2) = (a_2 a_1, a_2 b_1 + b_2)`, all positions from the values of the
previous round, until :math:`2^d \\ge L`. The cases have lengths L = 2T + 3 (3 to 13 steps). Each wrong
variant below is the reference with one common mistake in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, run_check


def _case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    """Coefficients (L, B, H) with L = 2T + 3: ``a`` in (0.2, 1.2) (some above one), ``b`` normal."""
    L = 2 * T + 3
    return rng.uniform(0.2, 1.2, (L, B, H)), rng.normal(size=(L, B, H))


def _variant(a: np.ndarray, b: np.ndarray, *, order: str = "right", update_a: bool = True,
             in_place: bool = False, round_short: bool = False) -> Outputs:
    A, Bc = a.copy(), b.copy()
    L, shift = a.shape[0], 1
    rounds = (L - 1).bit_length() - (1 if round_short else 0)   # ceil(log2 L) rounds: until 2^d >= L
    for _ in range(rounds):
        if in_place:                                   # position by position, reading values this round already changed
            for t in range(shift, L):
                A_t = A[t - shift] * A[t] if update_a else A[t]
                Bc[t] = A[t] * Bc[t - shift] + Bc[t]
                A[t] = A_t
        else:
            A_prev, B_prev = A[:-shift].copy(), Bc[:-shift].copy()
            if order == "right":                        # (earlier) . (later): apply the earlier map first
                B_new = A[shift:] * B_prev + Bc[shift:]
            else:                                       # the later map applied first
                B_new = A_prev * Bc[shift:] + B_prev
            if update_a:
                A[shift:] = A[shift:] * A_prev
            Bc[shift:] = B_new
        shift *= 2
    return {"h": Bc}


def _reference(a: np.ndarray, b: np.ndarray) -> Outputs:
    return _variant(a, b)


#: The wrong answers :func:`~rnnbook.exercises.check_hillis_steele` recognises.
MISTAKES = (
    Mistake("combine_order_swapped", "the combine is not commutative: (a1, b1) . (a2, b2) = (a2 a1, a2 b1 + b2) "
            "applies the earlier map (position t - 2^d) first, so the new b is a_t * b_{t-2^d} + b_t.",
            lambda a, b: _variant(a, b, order="left")),
    Mistake("a_not_composed", "the coefficient a must be composed too (a <- a_t a_{t-2^d}): after round d it is "
            "the product of 2^(d+1) steps' a, which the next round's b needs.",
            lambda a, b: _variant(a, b, update_a=False)),
    Mistake("in_place_update", "a round must read only the previous round's values: position t was combined with "
            "a position this round had already changed. Compute the new values from copies (or slices taken "
            "before writing), then write them.", lambda a, b: _variant(a, b, in_place=True)),
    Mistake("one_round_short", "the rounds go on while 2^d < L (ceil(log2 L) rounds): with one fewer, the last "
            "positions miss their earliest steps.", lambda a, b: _variant(a, b, round_short=True)),
)

#: The exercise of chapter 12, the Hillis-Steele scan.
HILLIS_STEELE = Exercise(
    name="hillis_steele", arguments=("a", "b"), returns="h", make_case=_case, reference=_reference,
    layout=("h",), shapes={"h": "(L, B, H)"}, mistakes=MISTAKES, seed=12)


def check_hillis_steele(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(a, b) -> h``: every state of ``h_t = a_t h_{t-1} + b_t`` (``h_0 = 0``) by the
    Hillis-Steele scan (chapter 12). ``a, b`` and ``h`` are float64 arrays (L, B, H).

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
        If ``fn`` is not callable or cannot take ``(a, b)``.
    """
    return run_check(HILLIS_STEELE, fn, verbose)
