"""The GRU as a torch module, built from tensor operations (not ``torch.nn.GRU``).

It computes the equations of chapter 4 exactly like ``rnnbook.numpy.GRU``, in either form, but on
any device and under autograd; :meth:`GRU.recurrence` is one layer and direction, and the shared
:meth:`~rnnbook.torch.layer.RecurrentModule.forward` stacks layers, directions and lengths. The input projections :math:`W_{i*} x_t + b_{i*}` of all three gate
blocks do not depend on the recurrence, so they are done for all time steps in one matrix product
before the loop. With ``reset_after=True`` each step then needs one more product,
``h @ W_hh.T``, for all three blocks; with ``reset_after=False`` the candidate's product must wait
for the reset gate, so a step needs two.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook.checks import check_bool
from rnnbook.torch.layer import RecurrentModule


class GRU(RecurrentModule):
    """A GRU with the parameters of ``torch.nn.GRU`` (``weight_ih_l0``, ...; gate blocks ``r, z, n``).

    Parameters
    ----------
    input_size, hidden_size : int
        D and H.
    reset_after : bool, default True
        True: :math:`n_t = \\tanh(W_{in} x_t + b_{in} + r_t \\odot (W_{hn} h_{t-1} + b_{hn}))`, as
        ``torch.nn.GRU`` and cuDNN. False: :math:`n_t = \\tanh(W_{in} x_t + b_{in} + W_{hn}
        (r_t \\odot h_{t-1}) + b_{hn})`, as Cho et al. (2014). Same parameters in both forms.
    batch_first : bool, default False
        Inputs and outputs ``(B, T, ·)`` instead of ``(T, B, ·)``.
    device, dtype :
        Where and in what precision the parameters live.
    num_layers, dropout, bidirectional :
        As ``torch.nn.GRU`` (see :class:`~rnnbook.torch.layer.RecurrentModule`).

    Raises
    ------
    TypeError
        If ``reset_after`` is not a bool (and as :class:`~rnnbook.torch.layer.RecurrentModule` for the other arguments).

    Examples
    --------
    >>> gru = GRU(3, 5)
    >>> Y, h_T = gru(torch.zeros(7, 2, 3))
    >>> tuple(Y.shape), tuple(h_T.shape), tuple(gru.weight_hh.shape)
    ((7, 2, 5), (1, 2, 5), (15, 5))
    """

    gate_count = 3

    def __init__(self, input_size: int, hidden_size: int, reset_after: bool = True,
                 batch_first: bool = False, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None, *, num_layers: int = 1, dropout: float = 0.0,
                 bidirectional: bool = False) -> None:
        self.reset_after = check_bool("reset_after", reset_after)
        super().__init__(input_size, hidden_size, batch_first, device, dtype,
                         num_layers=num_layers, dropout=dropout, bidirectional=bidirectional)

    def recurrence(self, X: Tensor, h: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensor:
        """Run the GRU over one sequence batch: one layer, one direction.

        :meth:`forward` (in :class:`~rnnbook.torch.layer.RecurrentModule`) calls it for every layer
        and direction, reversing the inputs for the reverse direction.

        Parameters
        ----------
        X : Tensor, shape (T, B, D)
        h : Tensor, shape (B, H)
            The initial state :math:`h_0`.
        W_ih, W_hh, b_ih, b_hh : Tensor
            This layer's and direction's parameters (gate blocks r, z, n).

        Returns
        -------
        Tensor, shape (T, B, H)
            The states :math:`h_1, \\dots, h_T`.
        """
        H = self.hidden_size
        XW = X @ W_ih.T + b_ih  # W_i* x_t + b_i* for every t and gate at once   (T, B, 3H)
        W_hh_T = W_hh.T  # (H, 3H)
        (W_hrz_T, W_hn_T), (b_hrz, b_hn) = W_hh_T.split(2 * H, dim=1), b_hh.split(2 * H)  # r, z blocks | n block
        states = []
        for XW_t in XW.unbind(0):  # one (B, 3H) slice per step, split once: backward stays linear in T
            XW_r, XW_z, XW_n = XW_t.split(H, dim=1)  # (B, H) each
            if self.reset_after:
                hW_r, hW_z, hW_n = (h @ W_hh_T + b_hh).split(H, dim=1)  # W_h* h_{t-1} + b_h*: one product
                r = torch.sigmoid(XW_r + hW_r)  # r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
                z = torch.sigmoid(XW_z + hW_z)  # z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
                n = torch.tanh(XW_n + r * hW_n)  # n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
            else:
                hW_r, hW_z = (h @ W_hrz_T + b_hrz).split(H, dim=1)  # r and z blocks only
                r = torch.sigmoid(XW_r + hW_r)  # r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
                z = torch.sigmoid(XW_z + hW_z)  # z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
                n = torch.tanh(XW_n + (r * h) @ W_hn_T + b_hn)  # n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)
            h = (1 - z) * n + z * h  # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
            states.append(h)
        return torch.stack(states)  # (T, B, H)

    def extra_repr(self) -> str:
        """The sizes and options that ``repr(layer)`` shows, ``reset_after`` included."""
        return super().extra_repr() + f", reset_after={self.reset_after}"
