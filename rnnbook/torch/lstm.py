"""The LSTM as a torch module, built from tensor operations (not ``torch.nn.LSTM``).

It computes eqs. ``lstm-i`` to ``lstm-h`` of chapter 3, exactly like ``rnnbook.numpy.LSTM``, but
on any device and under autograd (which does the backward pass). The input projection
:math:`W_{ih} x_t + b_{ih}` of all four gates does not depend on the recurrence, so it is done for
all time steps in one matrix product before the loop.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook.checks import check_finite_number, check_state_pair
from rnnbook.torch.layer import RecurrentModule


class LSTM(RecurrentModule):
    """A single-layer LSTM with the parameters of ``torch.nn.LSTMCell`` (gate blocks i, f, g, o).

    Parameters
    ----------
    input_size, hidden_size : int
        D and H.
    batch_first : bool, default False
        Inputs and outputs ``(B, T, ·)`` instead of ``(T, B, ·)``.
    device, dtype :
        Where and in what precision the parameters live.

    Examples
    --------
    >>> lstm = LSTM(3, 5)
    >>> Y, (h_T, c_T) = lstm(torch.zeros(7, 2, 3))
    >>> tuple(Y.shape), tuple(h_T.shape), tuple(c_T.shape)
    ((7, 2, 5), (2, 5), (2, 5))
    """

    gate_count = 4

    def set_forget_bias(self, value: float) -> None:
        """Make the forget gate's total bias :math:`b_{if} + b_{hf}` equal ``value`` in every unit.

        Sets ``bias_ih[H:2H] = value`` and ``bias_hh[H:2H] = 0`` (in place, outside autograd).

        Raises
        ------
        TypeError, ValueError
            If ``value`` is not a finite real number.
        """
        value = check_finite_number("value", value)
        H = self.hidden_size
        with torch.no_grad():
            self.bias_ih[H:2 * H].fill_(value)
            self.bias_hh[H:2 * H].zero_()

    def forward(self, X: Tensor, state0: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Run the LSTM over a sequence.

        Parameters
        ----------
        X : Tensor, shape (T, B, D), or (B, T, D) if ``batch_first``
        state0 : pair of Tensor (h0, c0), each of shape (B, H), optional
            Zeros if omitted.

        Returns
        -------
        Y : Tensor, shape (T, B, H), or (B, T, H) if ``batch_first``
            The hidden states :math:`h_1, \\dots, h_T`.
        (h_T, c_T) : pair of Tensor, each of shape (B, H)
            The final hidden and cell states.

        Raises
        ------
        TypeError, ValueError
            If ``X``, ``state0`` or its members have the wrong type, shape, dtype or device.
        """
        X, T, B = self._time_major(X)
        h0, c0 = (None, None) if state0 is None else check_state_pair(state0, "state0")
        h = self._initial_state(h0, B, X, "h0")
        c = self._initial_state(c0, B, X, "c0")
        XW = X @ self.weight_ih.T + self.bias_ih  # W_ih x_t + b_ih for every t and gate at once   (T, B, 4H)
        W_hh_T, b_hh = self.weight_hh.T, self.bias_hh
        states = []
        for XW_t in XW.unbind(0):  # one (B, 4H) slice per step, split once: backward stays linear in T
            a_i, a_f, a_g, a_o = (XW_t + h @ W_hh_T + b_hh).chunk(4, dim=1)  # 4 x (B, H)
            i = torch.sigmoid(a_i)  # i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
            f = torch.sigmoid(a_f)  # f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
            g = torch.tanh(a_g)     # g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
            o = torch.sigmoid(a_o)  # o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
            c = f * c + i * g       # c_t = f_t * c_{t-1} + i_t * g_t
            h = o * torch.tanh(c)   # h_t = o_t * tanh(c_t)
            states.append(h)
        Y = torch.stack(states)  # (T, B, H)
        return (Y.transpose(0, 1) if self.batch_first else Y), (h, c)
