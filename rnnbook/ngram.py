"""Count-based baselines for a character model: a unigram and an interpolated Kneser-Ney n-gram (chapter 5).

A recurrent model's bits per character mean little alone: these say what counting achieves.
Both are fitted on the training ids only and scored on held-out ids with :func:`bits_per_char`.

Interpolated Kneser-Ney (Kneser & Ney 1995; in the form of Chen & Goodman 1999) of order ``n``
mixes, for a history ``h`` of the last ``n - 1`` characters,

.. math::

   P(w \\mid h) = \\frac{\\max(c(h w) - D, 0)}{c(h \\cdot)} + \\frac{D \\, N_{1+}(h \\cdot)}{c(h \\cdot)} P(w \\mid h'),

where ``h'`` drops the oldest character of ``h``, :math:`N_{1+}(h \\cdot)` is the number of distinct
characters seen after ``h``, and the lower orders use *continuation counts* (in how many distinct
contexts ``h' w`` was seen) instead of raw counts ``c``. The recursion ends in the uniform
distribution ``1 / V``, so no character has probability zero. An unseen history backs off entirely.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from rnnbook.checks import check_int, check_positive, check_size, given


def _check_ids(ids: Any, vocab_size: int, name: str, minimum: int = 1) -> np.ndarray:
    array = np.asarray(ids)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be a 1-D integer array (from Vocabulary.encode), got {given(ids)}")
    if len(array) < minimum:
        raise ValueError(f"{name} must have at least {minimum} ids, got {len(array)}")
    if array.min() < 0 or array.max() >= vocab_size:
        raise ValueError(f"{name} must hold ids in [0, {vocab_size - 1}], got values in [{array.min()}, {array.max()}]")
    return array


def _as_str(ids: np.ndarray) -> str:
    """Ids as a string of code points: substrings are then cheap, hashable n-gram keys."""
    return "".join(map(chr, ids.tolist()))


class Unigram:
    """Character frequencies with add-k smoothing: :math:`P(w) = (c(w) + k) / (N + k V)`.

    Parameters
    ----------
    train_ids : 1-D int array
    vocab_size : int
    k : float, default 1 (Laplace)
    """

    order = 1

    def __init__(self, train_ids: Any, vocab_size: int, k: float = 1.0) -> None:
        self.vocab_size = check_size("vocab_size", vocab_size)
        self.k = check_positive("k", k)
        ids = _check_ids(train_ids, self.vocab_size, "train_ids")
        counts = np.bincount(ids, minlength=self.vocab_size)
        self.probs = (counts + self.k) / (len(ids) + self.k * self.vocab_size)  # P(w) = (c(w) + k) / (N + kV)

    def prob(self, history: Any, w: int) -> float:
        """:math:`P(w)` (the history is ignored)."""
        return float(self.probs[w])


class KneserNey:
    """Interpolated Kneser-Ney smoothing of order ``n`` over character ids (see the module docstring).

    Parameters
    ----------
    train_ids : 1-D int array
    vocab_size : int
    order : int, default 5
        ``n``: the model conditions on the last ``n - 1`` characters.
    discount : float in (0, 1), optional
        ``D``, one for every order. Default: estimated per order from the counts of counts,
        :math:`D = n_1 / (n_1 + 2 n_2)` (Ney, Essen & Kneser 1994), where :math:`n_1, n_2` are how
        many n-grams of that order occur once and twice.

    Raises
    ------
    TypeError, ValueError
        If the ids are not a 1-D integer array in ``[0, vocab_size)`` with at least ``order`` ids,
        ``order`` is not a positive int, or ``discount`` is not in (0, 1).
    """

    def __init__(self, train_ids: Any, vocab_size: int, order: int = 5, discount: float | None = None) -> None:
        self.vocab_size = check_size("vocab_size", vocab_size)
        self.order = check_size("order", order)
        text = _as_str(_check_ids(train_ids, self.vocab_size, "train_ids", minimum=self.order))
        n = self.order
        raw = {m: Counter(text[i: i + m] for i in range(len(text) - m + 1)) for m in range(1, n + 1)}
        # level m (an m-gram: history of m - 1, then w): raw counts at the top order, continuation
        # counts N1+(. h w) (distinct left neighbours) below it
        self.counts: dict[int, Counter[str]] = {n: raw[n]}
        for m in range(1, n):
            self.counts[m] = Counter(gram[1:] for gram in raw[m + 1])
        self.totals: dict[int, Counter[str]] = {}  # c(h .): the denominator, per history
        self.types: dict[int, Counter[str]] = {}   # N1+(h .): distinct characters seen after h
        for m, table in self.counts.items():
            totals: Counter[str] = Counter()
            types: Counter[str] = Counter()
            for gram, c in table.items():
                totals[gram[:-1]] += c
                types[gram[:-1]] += 1
            self.totals[m], self.types[m] = totals, types
        if discount is not None:
            d = check_positive("discount", discount)
            if not d < 1:
                raise ValueError(f"discount must be in (0, 1), got {discount}")
            self.discounts = {m: d for m in self.counts}
        else:
            self.discounts = {m: self._estimate_discount(table) for m, table in self.counts.items()}

    @staticmethod
    def _estimate_discount(table: Counter[str]) -> float:
        of_counts = Counter(table.values())
        n1, n2 = of_counts[1], of_counts[2]
        return n1 / (n1 + 2 * n2) if n1 > 0 and n2 > 0 else 0.5

    def prob(self, history: Any, w: int) -> float:
        """:math:`P(w \\mid h)` for the last ``order - 1`` ids of ``history`` (fewer at the start of a text)."""
        past = np.asarray(history, dtype=np.int64).reshape(-1)
        return self._prob(_as_str(past[max(0, len(past) - (self.order - 1)):] if self.order > 1 else past[:0]), chr(w))

    def _prob(self, h: str, w: str) -> float:
        m = len(h) + 1
        lower = 1.0 / self.vocab_size if m == 1 else self._prob(h[1:], w)  # P(w | h'), or uniform
        total = self.totals[m][h]
        if total == 0:  # an unseen history: back off entirely
            return lower
        D = self.discounts[m]
        return (max(self.counts[m][h + w] - D, 0.0) + D * self.types[m][h] * lower) / total

    def distribution(self, history: Any) -> np.ndarray:
        """:math:`P(\\cdot \\mid h)` over the whole vocabulary, shape ``(V,)`` (it sums to 1)."""
        return np.array([self.prob(history, w) for w in range(self.vocab_size)])


def bits_per_char(model: Unigram | KneserNey, ids: Any) -> float:
    """The mean of :math:`-\\log_2 P(x_t \\mid x_{<t})` over ``ids[1:]``, given ``ids[0]`` (as the recurrent models are scored).

    Perplexity per character is ``2 ** bits_per_char``.

    Raises
    ------
    TypeError, ValueError
        If ``ids`` is not a 1-D integer array of at least 2 ids in the model's vocabulary.
    """
    array = _check_ids(ids, model.vocab_size, "ids", minimum=2)
    context = check_int("model.order", model.order, minimum=1) - 1
    total = 0.0
    for t in range(1, len(array)):
        total -= math.log2(model.prob(array[max(0, t - context):t], int(array[t])))
    return total / (len(array) - 1)
