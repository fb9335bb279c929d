"""Checker for chapter 10's exercise: one step of additive (Bahdanau) attention, in NumPy.

The reader writes ``additive_attention(s_prev, enc, mask, params)``: the decoder state
``s_prev`` (B, H), the encoder outputs ``enc`` (S, B, H) right-padded, ``mask`` (S, B) true at
valid positions, and ``params`` with ``W_a`` (A, H), ``U_a`` (A, H), ``b_a`` (A,) and ``v`` (A,).
It returns the context (B, H) and the weights (S, B) of eq. ``s2s-att``::

    e_tj = v^T tanh(W_a s_{t-1} + U_a h_j + b_a),   alpha_t = softmax over valid j,   c_t = sum_j alpha_tj h_j

which is what :meth:`rnnbook.seq2seq.Seq2Seq.attend` computes (``tests/test_exercises_seq2seq.py``
proves the two equal). Each wrong variant below is the reference with one common mistake in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, run_check


def _case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    """S = T source positions, attention size A = D; random lengths in [1, S], the first source
    always full and the last one (when B > 1 and S > 1) one short, and random values in the padding."""
    S, A = T, D
    lengths = rng.integers(1, S + 1, size=B)
    lengths[0] = S
    if B > 1 and S > 1:
        lengths[-1] = S - 1
    mask = np.arange(S)[:, None] < lengths[None]  # (S, B)
    params = {"W_a": rng.normal(0, 0.8, (A, H)), "U_a": rng.normal(0, 0.8, (A, H)), "b_a": rng.normal(0, 0.3, A),
              "v": rng.normal(0, 1.0, A)}
    return rng.normal(0, 1, (B, H)), rng.normal(0, 1, (S, B, H)), mask, params


def _variant(s_prev: np.ndarray, enc: np.ndarray, mask: np.ndarray, params: dict[str, np.ndarray], *,
             masked: str = "-inf", axis: int = 0, nonlinearity: bool = True, values: str = "enc") -> Outputs:
    W_a, U_a, b_a, v = (params[k] for k in ("W_a", "U_a", "b_a", "v"))
    keys = enc @ U_a.T + b_a                                  # U_a h_j + b_a        (S, B, A)
    a = s_prev @ W_a.T + keys                                 # + W_a s_{t-1}        (S, B, A)
    e = (np.tanh(a) if nonlinearity else a) @ v               # e_tj                 (S, B)
    if masked == "-inf":
        e = np.where(mask, e, -np.inf)
    elif masked == "zero":
        e = np.where(mask, e, 0.0)
    e = e - e.max(axis=axis, keepdims=True)
    alpha = np.exp(e) / np.exp(e).sum(axis=axis, keepdims=True)  # softmax over the source positions j
    if masked == "after":
        alpha = alpha * mask
    context = (alpha[..., None] * (enc if values == "enc" else keys)).sum(0)  # c_t = sum_j alpha_tj h_j   (B, H)
    return {"context": context, "alpha": alpha}


def _reference(s_prev: np.ndarray, enc: np.ndarray, mask: np.ndarray, params: dict[str, np.ndarray]) -> Outputs:
    return _variant(s_prev, enc, mask, params)


#: The wrong answers :func:`~rnnbook.exercises.check_additive_attention` recognises.
MISTAKES = (
    Mistake("padding_not_masked", "the padded source positions get weight: set their scores e_tj to -inf "
            "before the softmax (np.where(mask, e, -np.inf)), so that exp gives exactly 0 there.",
            lambda *a: _variant(*a, masked="none")),
    Mistake("padding_scored_zero", "padded positions are given the score 0, which is not 'no weight': "
            "exp(0) = 1. Use -inf.", lambda *a: _variant(*a, masked="zero")),
    Mistake("masked_after_softmax", "the weights are zeroed on padding after the softmax, so they no "
            "longer sum to 1: mask the scores before it.", lambda *a: _variant(*a, masked="after")),
    Mistake("softmax_over_batch", "the softmax runs over the batch axis: the weights of one decoder step "
            "are a distribution over the source positions j, axis 0 of (S, B).",
            lambda *a: _variant(*a, axis=1)),
    Mistake("missing_tanh", "the scores skip the tanh: e_tj = v^T tanh(W_a s_{t-1} + U_a h_j + b_a).",
            lambda *a: _variant(*a, nonlinearity=False)),
    Mistake("context_from_keys", "the context averages the projected keys U_a h_j + b_a; it averages the "
            "encoder outputs h_j themselves.", lambda *a: _variant(*a, values="keys")),
)

#: The exercise of chapter 10, one step of additive attention.
ADDITIVE_ATTENTION = Exercise(
    name="additive_attention", arguments=("s_prev", "enc", "mask", "params"), returns="(context, alpha)",
    make_case=_case, reference=_reference, layout=("context", "alpha"),
    shapes={"context": "(B, H)", "alpha": "(S, B)"}, mistakes=MISTAKES, uses_T=True, seed=10)


def check_additive_attention(fn: Any, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(s_prev, enc, mask, params) -> (context, alpha)``: additive attention (chapter 10).

    ``s_prev`` is (B, H), ``enc`` (S, B, H) with S = T of the cases' sizes, ``mask`` (S, B) bool,
    ``params`` holds ``W_a`` (A, H), ``U_a`` (A, H), ``b_a`` (A,) and ``v`` (A,) with A = D.
    ``context`` is (B, H) and ``alpha`` (S, B), zero on padding, each column summing to 1.

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
        If ``fn`` is not callable or cannot take ``(s_prev, enc, mask, params)``.
    """
    return run_check(ADDITIVE_ATTENTION, fn, verbose)
