"""Drawing text from a language model: temperature, top-k and nucleus (top-p) sampling (chapter 5).

A model gives logits :math:`a` over the vocabulary for the next character. Sampling divides them
by a temperature :math:`\\tau`, :math:`p = \\operatorname{softmax}(a / \\tau)`, optionally keeps only
the ``k`` most likely characters (top-k) or the smallest set whose probability reaches ``p``
(nucleus sampling, Holtzman et al. 2020), renormalises, and draws. :math:`\\tau = 0` is the limit
:math:`\\tau \\to 0`: always the most likely character (greedy decoding).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rnnbook.checks import as_real_array, check_finite_number, check_int, check_rng, check_size, given

#: A model's step, ``step(char_index, state) -> (logits (V,), state)``, as ``generate`` calls it.
StepFn = Callable[[int, Any], tuple[Any, Any]]


def _check_temperature(temperature: Any) -> float:
    tau = check_finite_number("temperature", temperature)
    if tau < 0:
        raise ValueError(f"temperature must be >= 0 (0 means greedy: always the most likely character), got {temperature}")
    return tau


def next_char_probs(logits: Any, temperature: float = 1.0, top_k: int | None = None,
                    top_p: float | None = None) -> np.ndarray:
    """The distribution sampling draws from: ``softmax(logits / temperature)``, cut to top-k and top-p, renormalised.

    Parameters
    ----------
    logits : array, shape (V,) or (B, V)
        Unnormalised log-probabilities (a NumPy array or a torch tensor on any device).
    temperature : float, default 1
        ``> 0`` scales the logits; ``0`` puts all the mass on the most likely character (the first
        one on a tie): greedy decoding.
    top_k : int, optional
        Keep only the ``top_k`` most likely characters.
    top_p : float in (0, 1], optional
        Keep the most likely characters until their probability reaches ``top_p`` (at least one).

    Returns
    -------
    ndarray, the shape of ``logits``, float64; each row sums to 1 and is zero outside the kept set.

    Raises
    ------
    TypeError, ValueError
        If ``logits`` is not a real 1-D or 2-D array with finite values, ``temperature`` is negative
        or not finite, ``top_k`` is not a positive int, or ``top_p`` is not in (0, 1].
    """
    a = as_real_array("logits", logits)
    if a.ndim not in (1, 2) or a.shape[-1] == 0:
        raise ValueError(f"logits must have shape (V,) or (B, V) with V >= 1, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("logits must be finite, got NaN or infinite values")
    tau = _check_temperature(temperature)
    k = a.shape[-1] if top_k is None else check_size("top_k", top_k)
    if top_p is not None:
        top_p = check_finite_number("top_p", top_p)
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    rows = np.atleast_2d(a)
    if tau == 0:  # the limit tau -> 0: a one-hot at the argmax
        p = np.zeros_like(rows)
        p[np.arange(len(rows)), rows.argmax(axis=-1)] = 1.0
        return p.reshape(a.shape)
    z = rows / tau
    z = z - z.max(axis=-1, keepdims=True)  # softmax, stably: exp never overflows
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    order = np.argsort(-p, axis=-1, kind="stable")  # most likely first (ties: lower id first)
    ranked = np.take_along_axis(p, order, axis=-1)
    keep = np.arange(p.shape[-1]) < k  # top-k: the k first in rank
    if top_p is not None:  # nucleus: keep rank r while the mass before it is < top_p
        mass = ranked * keep / (ranked * keep).sum(axis=-1, keepdims=True)  # renormalised after top-k
        before = np.cumsum(mass, axis=-1) - mass
        keep = keep & (before < top_p)
    kept = np.zeros_like(p)
    np.put_along_axis(kept, order, ranked * keep, axis=-1)
    kept /= kept.sum(axis=-1, keepdims=True)
    return kept.reshape(a.shape)


def sample(logits: Any, rng: np.random.Generator, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None) -> np.ndarray:
    """Draw one id per row of ``logits`` from :func:`next_char_probs` (shape ``()`` for 1-D logits, ``(B,)`` for 2-D).

    Raises
    ------
    TypeError, ValueError
        As :func:`next_char_probs`, or if ``rng`` is not a ``numpy.random.Generator``.
    """
    check_rng(rng)
    p = next_char_probs(logits, temperature, top_k, top_p)
    rows = np.atleast_2d(p)
    u = rng.random(len(rows))[:, None]  # inverse-CDF draw, one uniform number per row
    ids = np.minimum((np.cumsum(rows, axis=-1) < u).sum(axis=-1), rows.shape[-1] - 1)
    return ids.reshape(p.shape[:-1])


def generate(step: StepFn, state: Any, prime_ids: Any, length: int, rng: np.random.Generator,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> list[int]:
    """Feed the priming ids, then draw ``length`` ids one at a time, each fed back as the next input.

    Parameters
    ----------
    step : callable
        ``step(id, state) -> (logits (V,), state)``: one step of a model on one character.
    state : any
        The model's initial state (e.g. ``None`` for zeros), passed to ``step`` and replaced by what
        it returns.
    prime_ids : sequence of int
        The priming text's ids (at least one): the model reads them before it writes.
    length : int
        How many ids to draw.
    rng, temperature, top_k, top_p
        As :func:`sample`.

    Returns
    -------
    list of int: the ``length`` drawn ids (the priming text not included).

    Raises
    ------
    TypeError, ValueError
        If ``prime_ids`` is empty or not integers, ``length`` is not a positive int, or a sampling
        argument is invalid.
    """
    prime = [check_int("prime_ids[i]", i, minimum=0) for i in np.asarray(prime_ids).reshape(-1).tolist()] \
        if np.asarray(prime_ids).dtype.kind in "iu" else None
    if not prime:
        raise ValueError(f"prime_ids must be a non-empty sequence of non-negative ints, got {given(prime_ids)}")
    length = check_size("length", length)
    _check_temperature(temperature)
    logits = None
    for i in prime:
        logits, state = step(i, state)
    out: list[int] = []
    for _ in range(length):
        nxt = int(sample(logits, rng, temperature, top_k, top_p))
        out.append(nxt)
        logits, state = step(nxt, state)
    return out
