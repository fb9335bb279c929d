"""The character-level language model as a torch module: the twin of :mod:`rnnbook.numpy.charlm`.

One-hot characters, an ``rnnbook.torch`` RNN/LSTM/GRU and a linear head (``nn.Linear``), on any
device, trained by autograd (chapter 5)::

    x_t = onehot(c_t),   h_t = layer(x_t, h_{t-1}),   a_t = W_hy h_t + b_y      (charlm-head)

Its state dict (``recurrent.weight_ih_l0``, ..., ``head.weight``, ``head.bias``) is the NumPy model's
:attr:`~rnnbook.numpy.charlm.CharModel.params` under ``torch.nn``'s layer names (``recurrent.weight_ih``
there): each model loads the other's state dict as it is, so weights move between the two unchanged.
:func:`lm_loss` is the step a training loop needs: logits, the mean cross-entropy against the next
characters, and the final state detached, to carry into the next chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbook.checks import check_option, check_size, given
from rnnbook.tbptt import detach_state
from rnnbook.torch.gru import GRU
from rnnbook.torch.layer import RecurrentModule
from rnnbook.torch.lstm import LSTM
from rnnbook.torch.rnn import RNN

#: The recurrent cells by name (``"rnn"``, ``"lstm"``, ``"gru"``).
CELLS: dict[str, type[RecurrentModule]] = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
#: The carried state: None, a tensor (1, B, H), or the LSTM's pair (h, c).
State = Any  # None, a tensor (1, B, H), or the LSTM's pair (h, c)


def _check_tokens(name: str, tokens: Any, shape: tuple[int, ...] | None = None) -> Tensor:
    """An integer tensor of shape (T, B) (or ``shape``); a NumPy integer array is made one. Values
    are not scanned (that would synchronise a GPU): ``F.one_hot`` refuses an index out of range."""
    if isinstance(tokens, np.ndarray) and tokens.dtype.kind in "iu":
        tokens = torch.from_numpy(tokens)
    if not isinstance(tokens, Tensor) or tokens.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"{name} must be an integer tensor (or NumPy array) of shape (T, B) of character indices, "
                        f"got {given(tokens)}")
    if (shape is not None and tuple(tokens.shape) != shape) or (shape is None and tokens.dim() != 2):
        raise ValueError(f"{name} must have shape {shape if shape is not None else '(T, B)'}, got {tuple(tokens.shape)}")
    if tokens.numel() == 0:
        raise ValueError(f"{name} must hold at least one step of one stream, got shape {tuple(tokens.shape)}")
    return tokens


class CharModel(nn.Module):
    """One-hot characters -> ``rnnbook.torch`` RNN/LSTM/GRU -> ``nn.Linear`` head (eq. ``charlm-head``).

    Parameters
    ----------
    vocab_size : int
        V.
    hidden_size : int
        H.
    cell : {"rnn", "lstm", "gru"}, default "lstm"
    device, dtype :
        Where and in what precision the parameters live.

    Examples
    --------
    >>> model = CharModel(5, 8, "lstm")
    >>> logits, (h, c) = model(torch.zeros(7, 3, dtype=torch.long))
    >>> tuple(logits.shape), tuple(h.shape)
    ((7, 3, 5), (1, 3, 8))
    """

    def __init__(self, vocab_size: int, hidden_size: int, cell: str = "lstm", *,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.vocab_size = check_size("vocab_size", vocab_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.cell = check_option("cell", cell, tuple(CELLS))
        self.recurrent = CELLS[cell](self.vocab_size, self.hidden_size, device=device, dtype=dtype)
        self.head = nn.Linear(self.hidden_size, self.vocab_size, device=device, dtype=dtype)

    def forward(self, inputs: Tensor, state: State = None) -> tuple[Tensor, State]:
        """``inputs`` (T, B) of character indices (a tensor or NumPy array, moved to the model's device) to
        logits (T, B, V) and the layer's final state.

        Raises
        ------
        TypeError, ValueError
            If ``inputs`` is not an integer (T, B) tensor, or an index is outside ``[0, V)``.
        """
        inputs = _check_tokens("inputs", inputs).to(self.head.weight.device)
        X = F.one_hot(inputs.long(), self.vocab_size).to(self.head.weight.dtype)  # x_t = onehot(c_t)   (T, B, V)
        Y, state = self.recurrent(X, state)                                       # h_t                 (T, B, H)
        return self.head(Y), state                                                # a_t = W_hy h_t + b_y (T, B, V)

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}"


def lm_loss(model: nn.Module, batch: tuple[Tensor, Tensor], state: State = None) -> tuple[Tensor, State]:
    """The mean cross-entropy of ``model`` on one chunk, and its final state detached (stateful TBPTT).

    This is the ``loss_fn`` that :func:`rnnbook.train.train` takes for language models: the state
    returned is carried into the next chunk by the loop, without its graph (chapter 2's detach).

    Parameters
    ----------
    model : nn.Module
        Maps ``(inputs (T, B), state)`` to ``(logits (T, B, V), state)``, e.g. :class:`CharModel`.
    batch : pair of Tensor or ndarray, or a triple
        ``(inputs, targets)``, integer tensors or NumPy arrays of shape (T, B), moved to the model's
        device here; ``targets[t, b]`` is the character that follows ``inputs[t, b]``. A third
        member ``reset`` (a bool) that is True starts from a zero state instead of ``state`` (the
        streams started over).
    state : optional
        Carried from the previous chunk; ``None`` starts from zeros.

    Returns
    -------
    loss : Tensor
        0-d, in nats per character.
    state :
        The final state, detached from the graph.

    Raises
    ------
    TypeError, ValueError
        If ``batch`` is not a pair of integer tensors or arrays of the same shape (T, B).
    """
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise TypeError(f"batch must be a pair (inputs, targets) of integer tensors (T, B), or a triple "
                        f"(inputs, targets, reset), got {given(batch)}")
    if len(batch) == 3 and batch[2]:
        state = None  # the first chunk of a new pass over the streams: the carried state does not belong here
    inputs = _check_tokens("inputs", batch[0])
    targets = _check_tokens("targets", batch[1], shape=tuple(inputs.shape))
    logits, state = model(inputs, state)
    targets = targets.to(logits.device).reshape(-1).long()
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets)  # mean over T * B characters
    return loss, detach_state(state)
