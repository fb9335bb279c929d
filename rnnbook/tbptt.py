"""Truncated backpropagation through time, TBPTT(k1, k2), for any time-major torch layer (chapter 2).

Full BPTT backpropagates every loss to the start of the sequence: memory grows with ``T`` and
there is one update per sequence. Truncated BPTT processes the sequence in chunks of ``k1`` steps
and backpropagates the losses of each chunk through at most ``k2 >= k1`` steps
{cite}`williams1990efficient`; the state is carried from chunk to chunk, detached from the graph,
so the forward computation is exact and only the gradients are truncated.

With ``k1 == k2 == k`` this is the usual "chunks of k steps" form. With ``k2 > k1`` each chunk's
losses see ``k2 - k1`` extra steps of history, recomputed from the stored state where the window
starts (so ``k2`` must be a multiple of ``k1``). With ``k1 = k2 >= T`` it is full BPTT, exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

State = Any  # a Tensor (B, H), a pair (h, c) for an LSTM, or None


def detach_state(state: State) -> State:
    """Detach a state (a tensor, or a tuple of tensors such as an LSTM's (h, c)) from the graph."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def truncated_bptt(layer: nn.Module, head: nn.Module, X: Tensor, targets: Tensor,
                   loss_fn: Callable[[Tensor, Tensor], Tensor], k1: int, k2: int | None = None,
                   state0: State = None) -> float:
    """Accumulate TBPTT(k1, k2) gradients into the ``.grad`` of ``layer`` and ``head``.

    Parameters
    ----------
    layer : nn.Module
        Time-major recurrent layer: ``layer(X, state) -> (Y, state)``.
    head : nn.Module
        Maps the layer's outputs ``(t, B, H)`` to predictions ``(t, B, O)``.
    X : Tensor, shape (T, B, D)
    targets : Tensor, shape (T, B, O)
    loss_fn : callable
        ``loss_fn(predictions, targets) -> scalar`` for one chunk; use a *sum* over steps (divided
        by a constant if you like) so that chunk losses add up to the loss of the whole sequence.
    k1 : int
        How often to truncate: the chunk length, at least 1.
    k2 : int, optional
        How far each chunk's losses look back, a multiple of ``k1``; defaults to ``k1``.
    state0 : optional
        The initial state, passed to ``layer`` as is (detached).

    Returns
    -------
    float
        The loss of the whole sequence (the sum of the chunks' losses).

    Raises
    ------
    ValueError
        If ``k1 < 1``, ``k2`` is not a positive multiple of ``k1``, or ``X`` and ``targets`` differ
        in length.
    """
    T = X.shape[0]
    k2 = k1 if k2 is None else k2
    if isinstance(k1, bool) or not isinstance(k1, int) or k1 < 1:
        raise ValueError(f"k1 must be a positive int, got {k1!r}")
    if isinstance(k2, bool) or not isinstance(k2, int) or k2 < k1 or k2 % k1:
        raise ValueError(f"k2 must be a multiple of k1={k1} and at least k1, got {k2!r}")
    if targets.shape[0] != T:
        raise ValueError(f"targets must have T={T} steps like X, got shape {tuple(targets.shape)}")
    states = {0: detach_state(state0)}  # the detached state at each chunk boundary (multiples of k1)
    total = 0.0
    for chunk_start in range(0, T, k1):
        chunk_end = min(chunk_start + k1, T)
        start = max(chunk_start - (k2 - k1), 0)                   # where this chunk's gradients stop
        Y, state = layer(X[start:chunk_end], states[start])       # recomputed from a detached state
        loss = loss_fn(head(Y[chunk_start - start:]), targets[chunk_start:chunk_end])
        loss.backward()                                           # gradients flow back to `start` only
        states[chunk_end] = detach_state(state)
        total += loss.item()
    return total
