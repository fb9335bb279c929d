"""Recomputation across time chunks: trade a second forward pass for the memory of the activations.

Training a recurrent layer keeps, for the backward pass, what every step computed: the gates and
states of all T steps, memory linear in T. :func:`recompute_forward` cuts the sequence into chunks
of ``chunk`` steps and runs each chunk under ``torch.utils.checkpoint.checkpoint``: the forward
pass keeps only each chunk's input and its initial state, and the backward pass runs each chunk's
forward again, one chunk at a time, to get the activations it needs. The state is carried from chunk
to chunk, so the outputs and gradients are those of the layer run over the whole sequence (chapter
11 measures them equal, and the time and memory it costs).

With chunks of :math:`K` steps the memory held between the passes is about :math:`T/K` chunk
boundaries plus the activations of one chunk (:math:`K` steps) during backward; the cost is one
more forward pass. :math:`K \\approx \\sqrt{T}` makes both terms about :math:`\\sqrt{T}`.

Any layer with the ``torch.nn`` calling convention ``Y, state = layer(X, state0)`` works: rnnbook's
torch layers, ``torch.nn.RNN/LSTM/GRU`` (state ``h`` or ``(h, c)``). :func:`saved_bytes` measures
what a forward pass keeps for the backward pass, exactly and on any device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

# A recurrent state: one tensor (RNN, GRU) or a tuple of tensors (LSTM: ``(h, c)``).
_State = Tensor | tuple[Tensor, ...]


def _flat(state: _State) -> tuple[Tensor, ...]:
    return (state,) if isinstance(state, Tensor) else tuple(state)


def recompute_forward(layer: Callable[..., tuple[Tensor, Any]], X: Tensor, state0: _State | None = None,
                      chunk: int = 32) -> tuple[Tensor, _State]:
    """Run ``layer`` over ``X`` in chunks of ``chunk`` time steps, recomputing each chunk in backward.

    Parameters
    ----------
    layer : callable
        A recurrent layer called as ``Y, state = layer(X_chunk, state)``, time-major (``batch_first``
        False), e.g. :class:`rnnbook.torch.LSTM` or ``torch.nn.LSTM``.
    X : Tensor, shape (T, B, D)
    state0 : Tensor or tuple of Tensor, optional
        The initial state, as ``layer`` takes it; the layer's own default (zeros) if omitted.
    chunk : int, default 32
        Time steps per checkpointed chunk, ``K``. The last chunk may be shorter.

    Returns
    -------
    Y : Tensor, shape (T, B, H)
        The outputs of all steps, as ``layer(X, state0)[0]``.
    state : Tensor or tuple of Tensor
        The final state, as ``layer(X, state0)[1]``.

    Raises
    ------
    TypeError
        If ``layer`` is not callable, ``X`` is not a tensor, or ``chunk`` is not an int.
    ValueError
        If ``X`` is not 3-dimensional with at least one step, ``chunk`` is not positive, or the
        layer is ``batch_first``.

    Examples
    --------
    >>> import rnnbook.torch
    >>> lstm = rnnbook.torch.LSTM(3, 5)
    >>> Y, (h, c) = recompute_forward(lstm, torch.zeros(10, 2, 3), chunk=4)
    >>> tuple(Y.shape), tuple(h.shape)
    ((10, 2, 5), (2, 5))
    """
    if not callable(layer):
        raise TypeError(f"layer must be a callable recurrent layer (Y, state = layer(X, state0)), "
                        f"got {type(layer).__name__}")
    if getattr(layer, "batch_first", False):
        raise ValueError("layer must be time-major (batch_first=False): chunks are cut along dim 0 of X")
    if not isinstance(X, Tensor):
        raise TypeError(f"X must be a torch.Tensor of shape (T, B, D), got {type(X).__name__}")
    if X.dim() != 3 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (T, B, D) with T >= 1, got shape {tuple(X.shape)}")
    if isinstance(chunk, bool) or not isinstance(chunk, int):
        raise TypeError(f"chunk must be a positive int (time steps per chunk), got {type(chunk).__name__}")
    if chunk < 1:
        raise ValueError(f"chunk must be a positive int (time steps per chunk), got {chunk}")

    def run(X_k: Tensor, *state: Tensor, single: bool) -> tuple[Tensor, ...]:
        """One chunk from ``state`` (empty: the layer's zeros); outputs and final state, flat."""
        given = None if not state else (state[0] if single else state)
        Y_k, state_k = layer(X_k, given)
        return (Y_k, *_flat(state_k))

    single = isinstance(state0, Tensor)  # a state of one tensor goes in bare, an LSTM's as a tuple
    state: tuple[Tensor, ...] = () if state0 is None else _flat(state0)
    outputs = []
    for X_k in X.split(chunk, dim=0):  # (K, B, D) views; the last one may be shorter
        Y_k, *rest = checkpoint(run, X_k, *state, single=single, use_reentrant=False)
        state, single = tuple(rest), len(rest) == 1  # as the layer returned it
        outputs.append(Y_k)
    Y = torch.cat(outputs)  # (T, B, H)
    return Y, (state[0] if single else state)


def saved_bytes(fn: Callable[[], Any], exclude: Iterable[torch.Tensor] = ()) -> int:
    """The bytes of the tensors that autograd saves for the backward pass while ``fn()`` runs.

    Parameters
    ----------
    fn : callable
        Runs a forward pass, e.g. ``lambda: layer(X)[0]``; what it returns is dropped.
    exclude : iterable of Tensor
        Tensors whose storage is not counted (the parameters and the input).

    Returns
    -------
    int
        Bytes held for the backward pass.

    Every tensor saved for backward passes through ``torch.autograd.graph.saved_tensors_hooks``;
    we count each distinct storage once (many saved tensors are views of one buffer), leaving out
    the storages of ``exclude`` (pass the parameters and the input: they exist without training).
    Exact and the same on every device. It is the memory held between the forward and the backward
    pass, not the peak: temporaries and the gradients themselves come on top. Under
    ``torch.utils.checkpoint.checkpoint`` the checkpointed region saves only its inputs here.

    Raises
    ------
    TypeError
        If ``fn`` is not callable.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable that runs a forward pass, got {type(fn).__name__}")
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in skip:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return sum(seen.values())
