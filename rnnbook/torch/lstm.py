"""The LSTM as a torch module, built from tensor operations (not ``torch.nn.LSTM``).

It computes eqs. ``lstm-i`` to ``lstm-h`` of chapter 3, exactly like ``rnnbook.numpy.LSTM``, but
on any device and under autograd (which does the backward pass); :meth:`LSTM.recurrence` is one
layer and direction, and the shared :meth:`~rnnbook.torch.layer.RecurrentModule.forward` stacks
layers, directions and lengths. The input projection
:math:`W_{ih} x_t + b_{ih}` of all four gates does not depend on the recurrence, so it is done for
all time steps in one matrix product before the loop.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook.checks import check_finite_number
from rnnbook.torch.layer import RecurrentModule


class LSTM(RecurrentModule):
    """An LSTM with the parameters of ``torch.nn.LSTM`` (``weight_ih_l0``, ...; gate blocks i, f, g, o).

    Parameters
    ----------
    input_size, hidden_size : int
        D and H.
    batch_first : bool, default False
        Inputs and outputs ``(B, T, ·)`` instead of ``(T, B, ·)``.
    device, dtype :
        Where and in what precision the parameters live.
    num_layers, dropout, bidirectional :
        As ``torch.nn.LSTM`` (see :class:`~rnnbook.torch.layer.RecurrentModule`).

    Examples
    --------
    >>> lstm = LSTM(3, 5)
    >>> Y, (h_T, c_T) = lstm(torch.zeros(7, 2, 3))
    >>> tuple(Y.shape), tuple(h_T.shape), tuple(c_T.shape)
    ((7, 2, 5), (1, 2, 5), (1, 2, 5))
    """

    gate_count = 4
    paired_state = True

    def set_forget_bias(self, value: float) -> None:
        """Make the forget gate's total bias :math:`b_{if} + b_{hf}` equal ``value`` in every unit.

        Sets ``bias_ih[H:2H] = value`` and ``bias_hh[H:2H] = 0`` (in place, outside autograd), in
        every layer and direction.

        Raises
        ------
        TypeError, ValueError
            If ``value`` is not a finite real number.
        """
        value = check_finite_number("value", value)
        H = self.hidden_size
        with torch.no_grad():
            for k in range(self.num_layers):
                for reverse in self.directions:
                    _, _, b_ih, b_hh = self.weights(k, reverse)
                    b_ih[H:2 * H].fill_(value)
                    b_hh[H:2 * H].zero_()

    def recurrence(self, X: Tensor, state0: tuple[Tensor, Tensor], W_ih: Tensor, W_hh: Tensor,
                   b_ih: Tensor, b_hh: Tensor) -> tuple[Tensor, Tensor]:
        """Run the LSTM (eqs. ``lstm-i`` to ``lstm-h``) over one sequence batch: one layer, one direction.

        :meth:`forward` (in :class:`~rnnbook.torch.layer.RecurrentModule`) calls it for every layer
        and direction, reversing the inputs for the reverse direction.

        Parameters
        ----------
        X : Tensor, shape (T, B, D)
        state0 : pair of Tensor (h0, c0), each of shape (B, H)
        W_ih, W_hh, b_ih, b_hh : Tensor
            This layer's and direction's parameters (gate blocks i, f, g, o).

        Returns
        -------
        (Y, C) : pair of Tensor, each of shape (T, B, H)
            The hidden states :math:`h_1, \\dots, h_T` and cell states :math:`c_1, \\dots, c_T`.
        """
        h, c = state0
        XW = X @ W_ih.T + b_ih  # W_ih x_t + b_ih for every t and gate at once   (T, B, 4H)
        W_hh_T = W_hh.T
        hs, cs = [], []
        for XW_t in XW.unbind(0):  # one (B, 4H) slice per step, split once: backward stays linear in T
            a_i, a_f, a_g, a_o = (XW_t + h @ W_hh_T + b_hh).chunk(4, dim=1)  # 4 x (B, H)
            i = torch.sigmoid(a_i)  # i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
            f = torch.sigmoid(a_f)  # f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
            g = torch.tanh(a_g)     # g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
            o = torch.sigmoid(a_o)  # o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
            c = f * c + i * g       # c_t = f_t * c_{t-1} + i_t * g_t
            h = o * torch.tanh(c)   # h_t = o_t * tanh(c_t)
            hs.append(h)
            cs.append(c)
        return torch.stack(hs), torch.stack(cs)  # (T, B, H) each
