"""Deep, bidirectional and variable-length RNNs in NumPy, composed from the one-layer layers.

Chapter 8 builds three things out of :class:`~rnnbook.numpy.RNN`, :class:`~rnnbook.numpy.LSTM` and
:class:`~rnnbook.numpy.GRU`, without a new line of recurrence (equation labels of chapter 8)::

    one direction over valid steps   h_t = cell(x_t, h_{t-1}) for t <= L_b; h_n = h_{L_b}    (deep-lengths)
    the reverse direction            the same layer over reverse_padded(X, lengths)          (deep-reverse)
    bidirectional                    y_t = [h_t^fwd ; h_t^bwd]      (T, B, 2H)               (deep-bidir)
    stacking                         layer l reads layer l-1's outputs y_t^(l-1)             (deep-stack)

Each piece has its backward written out: reversal is a permutation that is its own inverse and its
own transpose, so its backward is the same reversal; concatenation's backward splits the gradient;
an input read by both directions gets the sum of their gradients.

Sequences of different lengths ``lengths[b]`` are handled as ``torch.nn.utils.rnn`` packing does:
time is cut at every distinct length, and each chunk runs the layer on the sequences still going,
so no padded step is ever computed, and a finished sequence's state is simply never touched
again (it is the final state). Outputs at padded steps are zeros, as ``pad_packed_sequence`` gives.
Axes are time-major, ``(T, B, D)``; parameters are named as in ``torch.nn.RNN/LSTM/GRU``
(``weight_ih_l0``, ``weight_ih_l0_reverse``, ...). There is no dropout between layers.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnbook.checks import (NoForwardError, StateDictError, check_bool, check_finite, check_lengths, check_sequence,
                            check_size, check_state_pair, given)
from rnnbook.numpy.gru import GRU
from rnnbook.numpy.lstm import LSTM
from rnnbook.numpy.rnn import RNN

#: A recurrent state as this module passes it around, ``(h,)`` for the RNN and GRU and ``(h, c)`` for the LSTM.
State = tuple[np.ndarray, ...]


def _lengths(lengths: Any, T: int, B: int) -> np.ndarray:
    """``lengths`` checked to be B ints in ``[1, T]`` (:func:`rnnbook.checks.check_lengths`); all ``T`` if None."""
    return np.full(B, T, dtype=np.int64) if lengths is None else check_lengths(lengths, B, T)


def reverse_padded(X: np.ndarray, lengths: Any = None) -> np.ndarray:
    """Each sequence's valid part reversed in time; the padding stays where it is (eq. ``deep-reverse``).

    ``out[t, b] = X[lengths[b] - 1 - t, b]`` for ``t < lengths[b]``, and ``out[t, b] = X[t, b]`` after.
    Applied twice it gives ``X`` back, and as a linear map it is a symmetric permutation, so the
    backward of ``Y = reverse_padded(X, lengths)`` is ``dX = reverse_padded(dY, lengths)``.

    Parameters
    ----------
    X : ndarray, shape (T, B, ...)
        Time-major, padded after each sequence's end.
    lengths : array of int, shape (B,), optional
        Each sequence's number of valid steps; all ``T`` if omitted (then it is ``X[::-1]``).

    Returns
    -------
    ndarray, shape (T, B, ...)
        A new array.

    Raises
    ------
    TypeError, ValueError
        If ``X`` is not an array with time and batch axes, or ``lengths`` is not (B,) ints in [1, T].
    """
    if not isinstance(X, np.ndarray) or X.ndim < 2:
        raise TypeError(f"X must be an ndarray of shape (T, B, ...), time-major, got {given(X)}")
    T, B = X.shape[:2]
    lengths = _lengths(lengths, T, B)
    t = np.arange(T)[:, None]                                 # (T, 1)
    source = np.where(t < lengths, lengths - 1 - t, t)        # (T, B): which step lands at t
    return X[source, np.arange(B)]                            # gathered: out[t, b] = X[source[t, b], b]


def _run(layer: RNN | LSTM | GRU, X: np.ndarray, state: State) -> tuple[np.ndarray, State]:
    """``layer.forward`` with the state as a tuple, whatever the layer's own convention."""
    if isinstance(layer, LSTM):
        Y, (h, c) = layer.forward(X, (state[0], state[1]))
        return Y, (h, c)
    Y, h = layer.forward(X, state[0])
    return Y, (h,)


def _run_backward(layer: RNN | LSTM | GRU, dY: np.ndarray, dstate: State) -> tuple[dict[str, np.ndarray], State]:
    """``layer.backward``, returning the parameter (and ``X``) gradients and the initial state's as a tuple."""
    if isinstance(layer, LSTM):
        grads = layer.backward(dY, *dstate)
        return grads, (grads.pop("h0"), grads.pop("c0"))
    grads = layer.backward(dY, dstate[0])
    return grads, (grads.pop("h0"),)


class Direction:
    """One layer run over each sequence's valid steps, forwards or reversed (eqs. ``deep-lengths``, ``deep-reverse``).

    Parameters
    ----------
    layer : RNN, LSTM or GRU
        The layer whose recurrence runs; its ``params`` are this direction's (shared, not copied).
    reverse : bool, default False
        Run each sequence from its last valid step back to its first.
    """

    def __init__(self, layer: RNN | LSTM | GRU, reverse: bool = False) -> None:
        if not isinstance(layer, (RNN, LSTM, GRU)):
            raise TypeError(f"layer must be an rnnbook.numpy RNN, LSTM or GRU, got {given(layer)}")
        self.layer, self.reverse = layer, check_bool("reverse", reverse)
        self.n_states = 2 if isinstance(layer, LSTM) else 1
        self._chunks: list[tuple[RNN | LSTM | GRU, int, int, np.ndarray]] = []
        self._lengths: np.ndarray | None = None
        self._shape: tuple[int, int] = (0, 0)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The layer's parameters, the same dict (changing them changes the layer)."""
        return self.layer.params

    @property
    def chunks(self) -> list[tuple[int, int, np.ndarray]]:
        """The chunks of the last :meth:`forward`, one per distinct length, as ``(start, end, active)``.

        Steps ``start`` to ``end - 1`` ran on the sequences ``active``, the rows of the packed format.
        """
        return [(start, end, active.copy()) for _, start, end, active in self._chunks]

    def forward(self, X: np.ndarray, lengths: Any = None, state0: State | None = None) -> tuple[np.ndarray, State]:
        """Run the layer over the valid part of each sequence.

        Parameters
        ----------
        X : ndarray, shape (T, B, D)
        lengths : array of int, shape (B,), optional
            Valid steps per sequence; all ``T`` if omitted.
        state0 : tuple of ndarray (B, H), optional
            ``(h0,)``, or ``(h0, c0)`` for an LSTM; zeros if omitted.

        Returns
        -------
        Y : ndarray, shape (T, B, H)
            The state at each valid step, in the original time order; zeros at padded steps.
        state : tuple of ndarray (B, H)
            Each sequence's state after its own last step (for ``reverse``, after step 0).

        Raises
        ------
        TypeError, ValueError
            If ``X``, ``lengths`` or ``state0`` has the wrong type or shape, or holds NaN/inf.
        """
        T, B = check_sequence(X, self.layer.input_size, "X")
        lengths, X = _lengths(lengths, T, B), np.asarray(X)
        H = self.layer.hidden_size
        if state0 is None:
            state = tuple(np.zeros((B, H)) for _ in range(self.n_states))
        elif not isinstance(state0, tuple) or len(state0) != self.n_states:
            raise TypeError(f"state0 must be None or a tuple of {self.n_states} array(s) of shape (B, H), got {given(state0)}")
        else:
            state = tuple(np.array(_check_like(f"state0[{k}]", s, (B, H))) for k, s in enumerate(state0))
        if self.reverse:
            X = reverse_padded(X, lengths)                 # valid part reversed, still at the front
        Y = np.zeros((T, B, H), dtype=self.layer.dtype)
        self._chunks, self._lengths, self._shape = [], lengths, (T, B)
        start = 0
        for end in np.unique(lengths):                     # cut time at every distinct length
            active = np.flatnonzero(lengths > start)       # the sequences still going: length >= end
            chunk = copy.copy(self.layer)                  # the same params dict, its own caches
            Y[start:end, active], new = _run(chunk, X[start:end, active], tuple(s[active] for s in state))
            for s, s_new in zip(state, new):
                s[active] = s_new                          # a finished sequence's state is never touched again
            self._chunks.append((chunk, int(start), int(end), active))
            start = end
        if self.reverse:
            Y = reverse_padded(Y, lengths)                 # outputs back in the original time order
        return Y, state

    __call__ = forward

    def backward(self, dY: np.ndarray, dstate: State | None = None) -> dict[str, Any]:
        """The chain rule through :meth:`forward`: the chunks in reverse order, each a layer's BPTT.

        Parameters
        ----------
        dY : ndarray, shape (T, B, H)
            Gradient on the outputs; entries at padded steps are ignored (those outputs are constants).
        dstate : tuple of ndarray (B, H), optional
            Gradient on the final state(s).

        Returns
        -------
        dict
            The layer's four parameter gradients, ``X`` (T, B, D) (zeros at padded steps) and
            ``state0``, a tuple like the state.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        ValueError
            If ``dY`` or ``dstate`` does not match the shapes of that forward pass.
        """
        if not self._chunks or self._lengths is None:
            raise NoForwardError("backward() needs a forward() first: there is nothing to backpropagate through")
        (T, B), H, lengths = self._shape, self.layer.hidden_size, self._lengths
        dY = _check_like("dY", dY, (T, B, H))
        if self.reverse:
            dY = reverse_padded(dY, lengths)               # the backward of the output reversal
        dstate = tuple(np.zeros((B, H)) if dstate is None or d is None else np.array(_check_like(f"dstate[{k}]", d, (B, H)))
                       for k, d in enumerate(dstate if dstate is not None else (None,) * self.n_states))
        if len(dstate) != self.n_states:
            raise ValueError(f"dstate must hold {self.n_states} array(s) of shape (B, H), got {len(dstate)}")
        grads: dict[str, Any] = {name: np.zeros_like(p) for name, p in self.layer.params.items()}
        dX = np.zeros((T, B, self.layer.input_size))
        for chunk, start, end, active in reversed(self._chunks):
            g, d_new = _run_backward(chunk, dY[start:end, active], tuple(d[active] for d in dstate))
            dX[start:end, active] = g.pop("X")
            for d, d_prev in zip(dstate, d_new):
                d[active] = d_prev                         # finished sequences' gradients pass through unchanged
            for name, value in g.items():
                grads[name] += value                       # the same weights in every chunk: gradients add
        grads["X"] = reverse_padded(dX, lengths) if self.reverse else dX  # the backward of the input reversal
        grads["state0"] = dstate
        return grads


def _check_like(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    if not hasattr(value, "shape") or tuple(value.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, like what the last forward() returned, got {given(value)}")
    check_finite(value, name)
    return np.asarray(value, dtype=np.float64)


class Stack:
    """``num_layers`` recurrent layers, each one or two directions, like ``torch.nn.RNN/LSTM/GRU`` (eq. ``deep-stack``).

    Parameters
    ----------
    cell : type
        :class:`~rnnbook.numpy.RNN`, :class:`~rnnbook.numpy.LSTM` or :class:`~rnnbook.numpy.GRU`.
    input_size : int
        D.
    hidden_size : int
        H, per direction.
    num_layers : int, default 1
    bidirectional : bool, default False
        Each layer also runs a reverse direction; outputs are then (T, B, 2H).
    rng : numpy.random.Generator, optional
        Source of the initial weights.
    **cell_options
        Passed to every layer, e.g. ``nonlinearity="relu"`` for the RNN.

    Attributes
    ----------
    directions : list of list of Direction
        ``directions[l][d]``: layer ``l``, direction ``d`` (0 forwards, 1 reversed).

    Examples
    --------
    >>> deep = Stack(LSTM, 3, 5, num_layers=2, bidirectional=True, rng=np.random.default_rng(0))
    >>> Y, (h_n, c_n) = deep.forward(np.zeros((7, 2, 3)), lengths=[7, 4])
    >>> Y.shape, h_n.shape, sorted(deep.state_dict())[:2]
    ((7, 2, 10), (4, 2, 5), ['bias_hh_l0', 'bias_hh_l0_reverse'])
    """

    def __init__(self, cell: type, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                 *, rng: np.random.Generator | None = None, **cell_options: Any) -> None:
        if cell not in (RNN, LSTM, GRU):
            raise TypeError(f"cell must be rnnbook.numpy.RNN, LSTM or GRU (the class), got {given(cell)}")
        self.cell, self.input_size = cell, check_size("input_size", input_size)
        self.hidden_size, self.num_layers = check_size("hidden_size", hidden_size), check_size("num_layers", num_layers)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.num_directions = 2 if self.bidirectional else 1
        rng = np.random.default_rng() if rng is None else rng
        self.directions = [
            [Direction(cell(input_size if l == 0 else hidden_size * self.num_directions, hidden_size, rng=rng, **cell_options),
                       reverse=bool(d)) for d in range(self.num_directions)]
            for l in range(self.num_layers)
        ]
        self.n_states = 2 if cell is LSTM else 1

    @staticmethod
    def param_name(name: str, layer: int, direction: int) -> str:
        """``torch.nn``'s name of a parameter: ``weight_ih`` of layer 1, reversed, is ``weight_ih_l1_reverse``."""
        return f"{name}_l{layer}" + ("_reverse" if direction else "")

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter, keyed like a ``torch.nn.RNN/LSTM/GRU`` state dict."""
        return {self.param_name(name, l, d): value.copy()
                for l, layer in enumerate(self.directions) for d, direction in enumerate(layer)
                for name, value in direction.params.items()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a ``torch.nn.RNN/LSTM/GRU`` state dict (tensors or arrays), checked by each layer.

        Raises
        ------
        rnnbook.checks.StateDictError
            If a key is missing or unexpected.
        TypeError, ValueError
            As :meth:`rnnbook.numpy.layer.RecurrentLayer.load_state_dict` (shapes, dtypes, NaN).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a mapping of torch.nn parameter names to arrays, got {given(state_dict)}")
        expected = self.state_dict().keys()
        extra, missing = sorted(set(state_dict) - set(expected)), sorted(set(expected) - set(state_dict))
        if extra or missing:
            raise StateDictError(f"state_dict does not fit {self!r}: missing {missing}, unexpected {extra}")
        for l, layer in enumerate(self.directions):
            for d, direction in enumerate(layer):
                direction.layer.load_state_dict({name: state_dict[self.param_name(name, l, d)] for name in direction.params})

    def _initial_states(self, state0: Any, B: int) -> list[State | None]:
        """torch.nn's ``h0`` (L * dirs, B, H), or the pair ``(h0, c0)``, split into one tuple per direction."""
        if state0 is None:
            return [None] * (self.num_layers * self.num_directions)
        parts = check_state_pair(state0, "state0") if self.n_states == 2 else (state0,)
        shape = (self.num_layers * self.num_directions, B, self.hidden_size)
        arrays = [_check_like(name, p, shape) for name, p in zip(("h0", "c0"), parts)]
        return [tuple(a[k] for a in arrays) for k in range(shape[0])]

    def forward(self, X: np.ndarray, lengths: Any = None, state0: Any = None) -> tuple[np.ndarray, Any]:
        """Run every layer over the valid steps, each reading the outputs of the one below.

        Parameters
        ----------
        X : ndarray, shape (T, B, D)
        lengths : array of int, shape (B,), optional
            Valid steps per sequence, any order; all ``T`` if omitted.
        state0 : ndarray (L * dirs, B, H), or a pair of them for the LSTM, optional
            torch.nn's ``h0`` (``(h0, c0)``); zeros if omitted.

        Returns
        -------
        Y : ndarray, shape (T, B, dirs * H)
            The top layer's outputs, directions concatenated; zeros at padded steps.
        h_n : ndarray, shape (L * dirs, B, H), or ``(h_n, c_n)`` for the LSTM
            Each direction's state after its own last step, ordered as ``torch.nn``'s
            (layer 0 forward, layer 0 reverse, layer 1 forward, ...).

        Raises
        ------
        TypeError, ValueError
            If ``X``, ``lengths`` or ``state0`` has the wrong type or shape, or holds NaN/inf.
        """
        T, B = check_sequence(X, self.input_size, "X")
        lengths = _lengths(lengths, T, B)
        state0 = self._initial_states(state0, B)
        finals: list[State] = []
        inputs = X
        for l, layer in enumerate(self.directions):
            outs = []
            for d, direction in enumerate(layer):
                Y_d, final = direction.forward(inputs, lengths, state0[l * self.num_directions + d])
                outs.append(Y_d)
                finals.append(final)
            inputs = np.concatenate(outs, axis=-1)        # y_t = [h_t^fwd ; h_t^bwd]   (T, B, dirs * H)
        states = tuple(np.stack([f[k] for f in finals]) for k in range(self.n_states))  # each (L * dirs, B, H)
        return inputs, (states if self.n_states == 2 else states[0])

    __call__ = forward

    def backward(self, dY: np.ndarray, dh_n: np.ndarray | None = None, dc_n: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The chain rule through :meth:`forward`, top layer first.

        Parameters
        ----------
        dY : ndarray, shape (T, B, dirs * H)
            Gradient on the top layer's outputs (padded steps ignored).
        dh_n, dc_n : ndarray, shape (L * dirs, B, H), optional
            Gradients on the final states (``dc_n`` for the LSTM only).

        Returns
        -------
        dict of ndarray
            Every parameter's gradient under its ``torch.nn`` name, ``X`` (T, B, D) and ``h0``
            (and ``c0``) of shape (L * dirs, B, H).

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        ValueError
            If a gradient's shape does not match that forward pass.
        """
        first = self.directions[0][0]
        if not first._chunks:
            raise NoForwardError("backward() needs a forward() first: there is nothing to backpropagate through")
        if dc_n is not None and self.n_states == 1:
            raise TypeError(f"dc_n is for an LSTM's cell state; this stack of {self.cell.__name__} has none")
        T, B = first._shape
        H, n = self.hidden_size, self.num_layers * self.num_directions
        dY = _check_like("dY", dY, (T, B, self.num_directions * H))
        d_final = [None if d is None else _check_like(name, d, (n, B, H)) for name, d in (("dh_n", dh_n), ("dc_n", dc_n))]
        grads: dict[str, np.ndarray] = {}
        d_initial: list[State] = [()] * n
        for l in reversed(range(self.num_layers)):
            dX: np.ndarray | None = None
            for d, direction in enumerate(self.directions[l]):
                k = l * self.num_directions + d
                dstate = tuple(np.zeros((B, H)) if a is None else a[k] for a in d_final[:self.n_states])
                g = direction.backward(dY[..., d * H:(d + 1) * H], dstate)  # concatenation's backward: split
                dX = g.pop("X") if dX is None else dX + g.pop("X")           # both directions read X: gradients add
                d_initial[k] = g.pop("state0")
                grads.update({self.param_name(name, l, d): value for name, value in g.items()})
            assert dX is not None
            dY = dX                                                          # layer l's input is layer l-1's output
        grads["X"] = dY
        for j, name in enumerate(("h0", "c0")[:self.n_states]):
            grads[name] = np.stack([s[j] for s in d_initial])
        return grads

    def __repr__(self) -> str:
        return (f"Stack({self.cell.__name__}, input_size={self.input_size}, hidden_size={self.hidden_size}, "
                f"num_layers={self.num_layers}, bidirectional={self.bidirectional})")
