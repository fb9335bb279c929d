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

from rnnbook.checks import check_callable, check_size, given, require_torch

require_torch("rnnbook.tbptt")  # a clear ImportError if torch is missing

from torch import Tensor, nn


#: A layer's recurrent state: a tensor (B, H), a pair ``(h, c)`` for an LSTM, or ``None``.
State = Any


def detach_state(state: State) -> State:
    """Detach a state (a tensor, or a tuple of tensors such as an LSTM's (h, c)) from the graph."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def check_tbptt_arguments(layer: Any, head: Any, X: Any, targets: Any, loss_fn: Any, k1: Any,
                          k2: Any) -> tuple[int, int, int]:
    """Check the arguments of :func:`truncated_bptt`; return ``(T, k1, k2)`` (``k2`` defaulted to ``k1``).

    Raises
    ------
    TypeError
        If ``layer``, ``head`` or ``loss_fn`` cannot be called, ``X`` or ``targets`` is not a
        tensor (a list, a NumPy array), or ``k1``/``k2`` is not an int.
    ValueError
        If ``X`` has no time step, ``targets`` has another length, ``k1 < 1``, or ``k2`` is not a
        multiple of ``k1`` at least ``k1``.
    """
    check_callable("layer", layer, "a recurrent layer, layer(X, state) -> (Y, state)")
    check_callable("head", head, "a module mapping outputs (t, B, H) to predictions (t, B, O)")
    check_callable("loss_fn", loss_fn, "a function loss_fn(predictions, targets) -> scalar tensor")
    for name, value in (("X", X), ("targets", targets)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, time-major (T, B, ...), got {given(value)} "
                            f"(convert with torch.as_tensor)")
        if value.dim() < 2:
            raise ValueError(f"{name} must be time-major (T, B, ...), got shape {tuple(value.shape)}")
    T = X.shape[0]
    if T < 1:
        raise ValueError(f"X must have at least one time step, got shape {tuple(X.shape)}")
    if targets.shape[0] != T:
        raise ValueError(f"targets must have T={T} steps like X, got shape {tuple(targets.shape)}")
    k1 = check_size("k1", k1)
    k2 = k1 if k2 is None else check_size("k2", k2)
    if k2 < k1 or k2 % k1:
        raise ValueError(f"k2 must be a multiple of k1={k1} and at least k1, got {k2!r}")
    return T, k1, k2


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
    TypeError, ValueError
        As :func:`check_tbptt_arguments`: ``X`` and ``targets`` must be tensors of the same,
        non-zero length, ``k1`` a positive int and ``k2`` a multiple of ``k1``.
    """
    T, k1, k2 = check_tbptt_arguments(layer, head, X, targets, loss_fn, k1, k2)
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
