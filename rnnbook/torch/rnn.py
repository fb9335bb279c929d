"""The vanilla RNN as a torch module, built from tensor operations (not ``torch.nn.RNN``).

It computes eq. ``rnn-recurrence`` of chapter 1, exactly like ``rnnbook.numpy.RNN``, but on any
device and under autograd; :meth:`RNN.recurrence` is one layer and direction, and the shared
:meth:`~rnnbook.torch.layer.RecurrentModule.forward` stacks layers, directions and lengths. The input projection :math:`W_{ih} x_t + b_{ih}` does not depend on
the recurrence, so it is done for all time steps in one matrix product before the loop.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook.checks import check_nonlinearity
from rnnbook.torch.layer import RecurrentModule


class RNN(RecurrentModule):
    """A vanilla RNN with the parameters of ``torch.nn.RNN`` (``weight_ih_l0``, ...).

    Parameters
    ----------
    input_size, hidden_size : int
        D and H.
    nonlinearity : {"tanh", "relu"}, default "tanh"
    batch_first : bool, default False
        Inputs and outputs ``(B, T, ·)`` instead of ``(T, B, ·)``.
    device, dtype :
        Where and in what precision the parameters live.
    num_layers, dropout, bidirectional :
        As ``torch.nn.RNN`` (see :class:`~rnnbook.torch.layer.RecurrentModule`).

    Examples
    --------
    >>> rnn = RNN(3, 5)
    >>> Y, h_T = rnn(torch.zeros(7, 2, 3))
    >>> tuple(Y.shape), tuple(h_T.shape)
    ((7, 2, 5), (1, 2, 5))
    >>> deep = RNN(3, 5, num_layers=2, bidirectional=True)
    >>> Y, h_T = deep(torch.zeros(7, 2, 3), lengths=[7, 4])
    >>> tuple(Y.shape), tuple(h_T.shape)
    ((7, 2, 10), (4, 2, 5))
    """

    gate_count = 1

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 batch_first: bool = False, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None, *, num_layers: int = 1, dropout: float = 0.0,
                 bidirectional: bool = False) -> None:
        self.nonlinearity = check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, batch_first, device, dtype,
                         num_layers=num_layers, dropout=dropout, bidirectional=bidirectional)

    def recurrence(self, X: Tensor, h: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensor:
        """Run eq. ``rnn-recurrence`` over one sequence batch: one layer, one direction.

        :meth:`forward` (in :class:`~rnnbook.torch.layer.RecurrentModule`) calls it for every layer
        and direction, reversing the inputs for the reverse direction.

        Parameters
        ----------
        X : Tensor, shape (T, B, D)
        h : Tensor, shape (B, H)
            The initial state :math:`h_0`.
        W_ih, W_hh, b_ih, b_hh : Tensor
            This layer's and direction's parameters.

        Returns
        -------
        Tensor, shape (T, B, H)
            The states :math:`h_1, \\dots, h_T`.
        """
        phi = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        XW = X @ W_ih.T + b_ih  # W_ih x_t + b_ih for every t at once   (T, B, H)
        W_hh_T = W_hh.T
        states = []
        for XW_t in XW.unbind(0):  # one (B, H) slice per step, split once: backward stays linear in T
            h = phi(XW_t + h @ W_hh_T + b_hh)  # h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
            states.append(h)
        return torch.stack(states)  # (T, B, H)

    def extra_repr(self) -> str:
        """The sizes and options that ``repr(layer)`` shows, ``nonlinearity`` included."""
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"
