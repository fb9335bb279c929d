"""What every torch recurrent layer of rnnbook shares: parameters, stacking, directions, lengths.

Each layer class (:class:`~rnnbook.torch.RNN`, :class:`~rnnbook.torch.LSTM`,
:class:`~rnnbook.torch.GRU`) writes one method, ``recurrence``: one direction of one layer, the
chapter's equations over a whole sequence. Everything else lives here, once:

- **Parameters** named and laid out like ``torch.nn.RNN/LSTM/GRU``: ``weight_ih_l{k}`` (G*H, D_k),
  ``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G*H,), with the suffix
  ``_reverse`` for the backward direction, where D_0 = D and D_k = H * num_directions above. So a
  ``torch.nn`` state dict loads as it is, and ours loads into ``torch.nn``. A single-layer,
  one-direction layer also loads a cell-style state dict (``weight_ih``, ..., as ``torch.nn.*Cell``
  and the NumPy layers name them), and reads ``layer.weight_ih`` etc. as layer 0's parameters.
  Every state dict loaded (directly, or as part of a larger model) is checked first by
  :func:`rnnbook.checks.check_state_dict`: NaN, inf, complex or bool weights are refused with a
  clear error, and NumPy arrays are accepted.
- **Stacking**: layer k+1 reads layer k's outputs (both directions concatenated), with dropout
  between layers in training mode, as ``torch.nn``.
- **Directions**: the reverse direction runs the same recurrence over each sequence's own valid
  part reversed, :math:`x_{L-1}, \\dots, x_0`, and its outputs are put back in time order, so its
  output at step t summarises :math:`x_t, \\dots, x_{L-1}`.
- **Lengths** (a ``lengths`` argument, or a ``PackedSequence``): each sequence's final state is its
  state at its own last valid step, and outputs past the end are zero, as ``pad_packed_sequence``
  gives them. The padded steps are still computed (and discarded): the price of a simple loop.

Unlike the NumPy reference layers, these layers do not scan inputs for NaN or inf (neither does
``torch.nn``): on a GPU that would synchronise with the host at every call. A non-finite loss is
caught by :func:`rnnbook.train.train_regressor` instead.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnnbook.checks import (check_bool, check_lengths, check_probability, check_sequence, check_size,
                            check_state_dict, check_state_pair, given, param_shapes)
from rnnbook.state import PARAM_NAMES, rename_keys, suffix

#: A layer's state: h (RNN, GRU), or the pair (h, c) (LSTM); each (num_layers * num_directions, B, H).
State = Any


def _check_state_dict_hook(module: RecurrentModule, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """Before ``load_state_dict`` copies anything (into this layer alone, or as part of a model):
    cell names (``weight_ih``) renamed to layer-0 names if the layer has one layer and direction,
    each value of ours checked, and NumPy values made tensors. Keys are checked by
    :meth:`RecurrentModule.load_state_dict` (torch does not tell a hook whether loading is strict)."""
    if module.num_layers == 1 and not module.bidirectional:
        renamed = rename_keys(state_dict, "", "_l0", prefix)
        state_dict.clear()
        state_dict.update(renamed)
    ours = {key[len(prefix):]: value for key, value in state_dict.items() if key.startswith(prefix)}
    for name, value in check_state_dict(ours, module.param_shapes(), strict=False).items():
        if not isinstance(value, Tensor):
            state_dict[prefix + name] = torch.as_tensor(value)


def _reversal_index(lengths: Tensor | None, T: int, device: torch.device) -> Tensor | None:
    """(T, B) time indices that reverse each sequence's valid part and leave its padding in place:
    step t of sequence b reads step ``lengths[b] - 1 - t`` while ``t < lengths[b]``. None: flip all."""
    if lengths is None:
        return None
    t = torch.arange(T, device=device)[:, None]  # (T, 1)
    return torch.where(t < lengths, lengths - 1 - t, t)  # (T, B); reversing twice is the identity


def _reverse(x: Tensor, index: Tensor | None) -> Tensor:
    """``x`` (T, B, ·) with each sequence's valid part reversed in time (see :func:`_reversal_index`)."""
    if index is None:
        return x.flip(0)
    return x.gather(0, index[..., None].expand_as(x))


def _last_valid(states: Tensor, lengths: Tensor | None) -> Tensor:
    """The state (B, H) at each sequence's last valid step, from every step's states (T, B, H)."""
    if lengths is None:
        return states[-1]
    return states[lengths - 1, torch.arange(states.shape[1], device=states.device)]


def _repack(Y: Tensor, like: PackedSequence) -> PackedSequence:
    """Time-major padded outputs (T, B, ·), batch in the original order, packed like ``like``."""
    if like.sorted_indices is not None:
        Y = Y[:, like.sorted_indices]  # longest sequence first, as packed
    data = torch.cat([Y[t, :size] for t, size in enumerate(like.batch_sizes.tolist())])
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


class RecurrentModule(nn.Module):
    """Base of the torch layers: parameters, input checks, and :meth:`forward` over layers and directions.

    Parameters
    ----------
    input_size, hidden_size : int
        D and H.
    batch_first : bool, default False
        If True, inputs and outputs are ``(B, T, ·)`` instead of time-major ``(T, B, ·)``.
    device, dtype :
        Where and in what precision the parameters are created (``torch.nn`` conventions).
    num_layers : int, default 1
        How many layers are stacked; layer k+1 reads layer k's outputs.
    dropout : float in [0, 1), default 0
        Dropout on the outputs of every layer but the last, in training mode (as ``torch.nn``).
    bidirectional : bool, default False
        If True, each layer also runs over each sequence reversed; outputs are ``2H`` wide
        (forward, then reverse).

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive int, ``batch_first`` or ``bidirectional`` is not a bool,
        ``dropout`` is not in [0, 1), or ``dtype`` is not a floating torch dtype.
    """

    gate_count = 1  # G: how many H-sized blocks are stacked in each weight matrix
    paired_state = False  # True for the LSTM, whose state is the pair (h, c)

    def __init__(self, input_size: int, hidden_size: int, batch_first: bool = False,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None, *,
                 num_layers: int = 1, dropout: float = 0.0, bidirectional: bool = False) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.batch_first = check_bool("batch_first", batch_first)
        self.num_layers = check_size("num_layers", num_layers)
        self.dropout = check_probability("dropout", dropout)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be None or a floating torch dtype such as torch.float32, got {dtype!r}")
        for name, shape in self.param_shapes().items():  # registered in torch.nn's order
            setattr(self, name, nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
        self.reset_parameters()
        self.register_load_state_dict_pre_hook(_check_state_dict_hook)

    @property
    def num_directions(self) -> int:
        """2 if bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def directions(self) -> tuple[bool, ...]:
        """``(False,)`` or ``(False, True)``: the ``reverse`` flag of each direction, in ``torch.nn`` order."""
        return (False, True) if self.bidirectional else (False,)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each parameter, in ``torch.nn`` order and layout."""
        shapes = {}
        for k in range(self.num_layers):
            D_k = self.input_size if k == 0 else self.hidden_size * self.num_directions
            for reverse in self.directions:
                for name, shape in param_shapes(self.gate_count, D_k, self.hidden_size).items():
                    shapes[name + suffix(k, reverse)] = shape
        return shapes

    def weights(self, layer: int = 0, reverse: bool = False) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(W_ih, W_hh, b_ih, b_hh)`` of one layer and direction."""
        end = suffix(layer, reverse)
        W_ih, W_hh, b_ih, b_hh = (getattr(self, name + end) for name in PARAM_NAMES)
        return W_ih, W_hh, b_ih, b_hh

    # Layer 0's forward parameters under the cell's names, for code written for one layer.
    weight_ih = property(lambda self: self.weight_ih_l0, doc="``weight_ih_l0``: layer 0's forward W_ih.")
    weight_hh = property(lambda self: self.weight_hh_l0, doc="``weight_hh_l0``: layer 0's forward W_hh.")
    bias_ih = property(lambda self: self.bias_ih_l0, doc="``bias_ih_l0``: layer 0's forward b_ih.")
    bias_hh = property(lambda self: self.bias_hh_l0, doc="``bias_hh_l0``: layer 0's forward b_hh.")

    def reset_parameters(self) -> None:
        """Uniform in :math:`[-1/\\sqrt{H}, 1/\\sqrt{H}]`, as ``torch.nn`` initialises."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -k, k)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Copy parameters from ``state_dict`` (tensors, or NumPy arrays), as ``nn.Module`` does.

        A single-layer, one-direction layer also takes cell names (``weight_ih``, ...).

        Raises
        ------
        rnnbook.checks.StateDictError
            If ``strict`` and a key is missing or unexpected (a ``ValueError``, and a ``KeyError``).
        TypeError
            If ``state_dict`` is not a mapping, or a value is complex, bool or not numeric.
        ValueError
            If a value's shape differs from :meth:`param_shapes`, or it holds NaN or inf.
        """
        if strict:
            if self.num_layers == 1 and not self.bidirectional:
                state_dict = rename_keys(state_dict, "", "_l0")
            check_state_dict(state_dict, self.param_shapes())
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def recurrence(self, X: Tensor, state0: State, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor,
                   b_hh: Tensor) -> Tensor | tuple[Tensor, ...]:
        """One layer, one direction: the states at every step (T, B, H) from ``X`` (T, B, D_k)."""
        raise NotImplementedError

    def forward(self, X: Tensor | PackedSequence, state0: State = None,
                lengths: Any = None) -> tuple[Tensor | PackedSequence, State]:
        """Run every layer and direction over a batch of sequences.

        Parameters
        ----------
        X : Tensor (T, B, D), or (B, T, D) if ``batch_first``; or a ``PackedSequence``
        state0 : optional
            h0 (RNN, GRU), or the pair (h0, c0) (LSTM), each of shape
            (num_layers * num_directions, B, H) (``torch.nn``'s layout; a single-layer,
            one-direction layer also takes (B, H)). Zeros if omitted. In a bidirectional layer,
            the reverse direction starts from its own initial state at each sequence's last valid step.
        lengths : sequence or tensor of B ints in [1, T], optional
            Each sequence's number of valid steps (the rest of X is padding). Not with a ``PackedSequence``.

        Returns
        -------
        Y : Tensor (T, B, num_directions * H), or (B, T, ·) if ``batch_first``; or a ``PackedSequence``
            The last layer's outputs (forward, then reverse direction); zero past each sequence's end.
        state : Tensor, or a pair of Tensor (LSTM)
            The final states, (num_layers * num_directions, B, H) each, in ``torch.nn``'s order
            (layer 0 forward, layer 0 reverse, layer 1 forward, ...), each at the sequence's own last
            valid step (the reverse direction's: after reading :math:`x_0`).

        Raises
        ------
        TypeError, ValueError
            If ``X``, ``state0`` or ``lengths`` has the wrong type, shape, dtype, device or range.
        """
        packed = X if isinstance(X, PackedSequence) else None
        if packed is not None:
            if lengths is not None:
                raise ValueError("lengths must be None when X is a PackedSequence, which carries its own lengths")
            X, lengths = pad_packed_sequence(packed, batch_first=self.batch_first)  # original batch order
        X, T, B = self._time_major(X)
        if lengths is not None:
            lengths = torch.as_tensor(check_lengths(lengths, B, T), device=X.device)
        index = _reversal_index(lengths, T, X.device)
        states0 = self._initial_states(state0, B, X)  # one per layer and direction
        finals = []
        layer_input = X
        for k in range(self.num_layers):
            outputs = []
            for reverse in self.directions:
                x = _reverse(layer_input, index) if reverse else layer_input
                steps = self.recurrence(x, states0[len(finals)], *self.weights(k, reverse))
                steps = steps if isinstance(steps, tuple) else (steps,)  # every step's h (and c): (T, B, H) each
                finals.append(tuple(_last_valid(s, lengths) for s in steps))
                outputs.append(_reverse(steps[0], index) if reverse else steps[0])  # back in time order
            layer_input = torch.cat(outputs, dim=2) if self.bidirectional else outputs[0]  # (T, B, num_directions * H)
            if k < self.num_layers - 1 and self.dropout > 0:
                layer_input = F.dropout(layer_input, self.dropout, self.training)
        Y = layer_input
        if lengths is not None:  # zero past each end, as pad_packed_sequence pads
            Y = Y.masked_fill(~(torch.arange(T, device=X.device)[:, None, None] < lengths[:, None]), 0.0)
        final = tuple(torch.stack(parts) for parts in zip(*finals))  # (num_layers * num_directions, B, H) each
        state = final if self.paired_state else final[0]
        if packed is not None:
            return _repack(Y, packed), state
        return (Y.transpose(0, 1) if self.batch_first else Y), state

    def _time_major(self, X: Tensor) -> tuple[Tensor, int, int]:
        """Check ``X`` and return it time-major with ``(T, B)``."""
        if not isinstance(X, Tensor):
            raise TypeError(f"X must be a torch.Tensor or a PackedSequence, got {type(X).__name__}")
        if self.batch_first and X.dim() == 3:
            X = X.transpose(0, 1)
        T, B = check_sequence(X, self.input_size, "X (time-major view)" if self.batch_first else "X")
        self._check_like_weights(X, "X")
        return X, T, B

    def _initial_states(self, state0: State, B: int, like: Tensor) -> list[Any]:
        """One initial state per layer and direction: h (B, H), or the pair (h, c) for the LSTM."""
        n = self.num_layers * self.num_directions
        if state0 is None:
            zeros = like.new_zeros(n, B, self.hidden_size)
            parts = (zeros, zeros) if self.paired_state else (zeros,)
        elif self.paired_state:
            h0, c0 = check_state_pair(state0, "state0")
            parts = (self._checked_state(h0, B, "h0"), self._checked_state(c0, B, "c0"))
        else:
            parts = (self._checked_state(state0, B, "h0"),)
        return [tuple(p[j] for p in parts) if self.paired_state else parts[0][j] for j in range(n)]

    def _checked_state(self, h: Any, B: int, name: str) -> Tensor:
        """``h`` of shape (num_layers * num_directions, B, H), or (B, H) for one layer and direction."""
        n, H = self.num_layers * self.num_directions, self.hidden_size
        if not isinstance(h, Tensor) or not h.dtype.is_floating_point:
            raise TypeError(f"{name} must be a floating torch.Tensor of shape ({n}, {B}, {H}), got {given(h)}")
        self._check_like_weights(h, name)
        if n == 1 and tuple(h.shape) == (B, H):
            return h[None]
        if tuple(h.shape) != (n, B, H):
            also = f" or (B, H) = ({B}, {H})" if n == 1 else ""
            raise ValueError(f"{name} must have shape (num_layers * num_directions, B, H) = ({n}, {B}, {H}){also}, "
                             f"got {tuple(h.shape)}")
        return h

    def _check_like_weights(self, x: Tensor, name: str) -> None:
        w = self.weight_ih_l0
        if x.dtype != w.dtype:
            raise TypeError(f"{name} has dtype {x.dtype} but the layer's parameters are {w.dtype}; "
                            f"convert one of them (e.g. layer.to({x.dtype}))")
        if x.device != w.device:
            raise ValueError(f"{name} is on {x.device} but the layer's parameters are on {w.device}; "
                             f"move one of them (e.g. layer.to({str(x.device)!r}))")

    def extra_repr(self) -> str:
        """The sizes and options that ``repr(layer)`` shows, as ``torch.nn``'s layers do (defaults omitted)."""
        text = f"input_size={self.input_size}, hidden_size={self.hidden_size}, batch_first={self.batch_first}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text
