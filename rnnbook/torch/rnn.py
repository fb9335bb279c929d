"""The vanilla RNN as a torch module, built from tensor operations (not ``torch.nn.RNN``).

It computes eq. ``rnn-recurrence`` of chapter 1, exactly like ``rnnbook.numpy.RNN``, but on any
device and under autograd. The input projection :math:`W_{ih} x_t + b_{ih}` does not depend on
the recurrence, so it is done for all time steps in one matrix product before the loop.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook.checks import check_nonlinearity
from rnnbook.torch.layer import RecurrentModule


class RNN(RecurrentModule):
    """A single-layer vanilla RNN with the parameters of ``torch.nn.RNNCell``.

    Parameters
    ----------
    input_size, hidden_size : int
        D and H.
    nonlinearity : {"tanh", "relu"}, default "tanh"
    batch_first : bool, default False
        Inputs and outputs ``(B, T, ·)`` instead of ``(T, B, ·)``.
    device, dtype :
        Where and in what precision the parameters live.

    Examples
    --------
    >>> rnn = RNN(3, 5)
    >>> Y, h_T = rnn(torch.zeros(7, 2, 3))
    >>> tuple(Y.shape), tuple(h_T.shape)
    ((7, 2, 5), (2, 5))
    """

    gate_count = 1

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 batch_first: bool = False, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        self.nonlinearity = check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, batch_first, device, dtype)

    def forward(self, X: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run the recurrence over a sequence.

        Parameters
        ----------
        X : Tensor, shape (T, B, D), or (B, T, D) if ``batch_first``
        h0 : Tensor, shape (B, H), optional
            Zeros if omitted.

        Returns
        -------
        Y : Tensor, shape (T, B, H), or (B, T, H) if ``batch_first``
            The states :math:`h_1, \\dots, h_T`.
        h_T : Tensor, shape (B, H)
            The final state.

        Raises
        ------
        TypeError, ValueError
            If ``X`` or ``h0`` is not a tensor of the right shape, dtype and device.
        """
        X, T, B = self._time_major(X)
        h = self._initial_state(h0, B, X)
        phi = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        XW = X @ self.weight_ih.T + self.bias_ih  # W_ih x_t + b_ih for every t at once   (T, B, H)
        W_hh_T, b_hh = self.weight_hh.T, self.bias_hh
        states = []
        for XW_t in XW.unbind(0):  # one (B, H) slice per step, split once: backward stays linear in T
            h = phi(XW_t + h @ W_hh_T + b_hh)  # h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
            states.append(h)
        Y = torch.stack(states)  # (T, B, H)
        return (Y.transpose(0, 1) if self.batch_first else Y), h

    def extra_repr(self) -> str:
        """The sizes and options that ``repr(layer)`` shows, ``nonlinearity`` included."""
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"
