"""Plotting defaults and the diagrams the chapters draw.

Figures are drawn with matplotlib so that they are built from code the reader can change, and so
the book needs no image files that could drift from the text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

if TYPE_CHECKING:  # only the type checker needs it, and not every matplotlib >= 3.7 has it
    from matplotlib.typing import RcKeyType

#: The book's matplotlib defaults (figure size, resolution, grid, fonts), applied by :func:`use_book_style`.
#:
#: :meta hide-value:
BOOK_STYLE: dict[RcKeyType, Any] = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
}


def use_book_style() -> None:
    """Apply the book's matplotlib defaults (``BOOK_STYLE``) for the rest of the session."""
    mpl.rcParams.update(BOOK_STYLE)


def _box(ax: Axes, x: float, y: float, text: str, color: str, w: float = 0.9, h: float = 0.55) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04", fc=color, ec="0.2", lw=1.0
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=11)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], color: str = "0.2",
           label: str = "", style: str = "-|>", rad: float = 0.0) -> None:
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=color, lw=1.2,
                        connectionstyle=f"arc3,rad={rad}")
    )
    if label:
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        ax.text(mx, my + 0.12, label, ha="center", va="bottom", fontsize=9, color=color)


def _node(ax: Axes, x: float, y: float, symbol: str) -> None:
    """A pointwise operation: a small circle with its symbol."""
    ax.add_patch(mpl.patches.Circle((x, y), 0.25, fc="#fff2cc", ec="0.2", lw=1.0, zorder=3))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=13, zorder=4)


def _line(ax: Axes, *points: tuple[float, float], color: str = "0.2") -> None:
    """A polyline through ``points``, without an arrowhead."""
    xs, ys = zip(*points)
    ax.plot(xs, ys, color=color, lw=1.2, zorder=1)


def unrolled_diagram(steps: int = 4, ax: Axes | None = None, outputs: bool = True,
                     gradients: bool = False, title: str | None = None) -> Axes:
    """Draw a vanilla RNN unrolled over ``steps`` time steps.

    Inputs :math:`x_t` feed hidden states :math:`h_t` through :math:`W_{ih}`; each state feeds the
    next through :math:`W_{hh}` (the same matrix at every step) and, if ``outputs``, an output
    :math:`y_t` through :math:`W_{hy}`. With ``gradients`` the backward flow is drawn in red:
    :math:`\\partial L_t / \\partial y_t` enters each step, :math:`\\delta_t = \\partial L / \\partial a_t`
    is marked under :math:`h_t`, and the arrow from step :math:`t` to step :math:`t-1` carries
    :math:`W_{hh}^\\top \\delta_t`, step :math:`t`'s part of :math:`\\partial L / \\partial h_{t-1}`
    (chapter 2, eq. ``bptt-dh``); the last arrow delivers
    :math:`\\partial L / \\partial h_0 = W_{hh}^\\top \\delta_1`.

    Parameters
    ----------
    steps : int
        Number of time steps drawn, at least 1.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    outputs, gradients : bool
        Whether to draw the output layer and the backward (gradient) arrows.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.9 * steps + 1.6, 3.4 if outputs else 2.4))
    red = "tab:red"
    y_x, y_h, y_y = 0.0, 1.3, 2.6
    _box(ax, -0.4, y_h, r"$h_0$", "0.92")
    for t in range(1, steps + 1):
        x = 1.6 * t
        _box(ax, x, y_x, f"$x_{t}$", "#dbe9f6")
        _box(ax, x, y_h, f"$h_{t}$", "#fde3c8")
        _arrow(ax, (x, y_x + 0.3), (x, y_h - 0.3))
        ax.text(x + 0.08, (y_x + y_h) / 2, r"$W_{ih}$", fontsize=9, va="center")
        x_prev = x - 1.6 if t > 1 else -0.4  # where h_{t-1} sits
        _arrow(ax, (x_prev + 0.47, y_h), (x - 0.47, y_h), label=r"$W_{hh}$")
        if outputs:
            _box(ax, x, y_y, f"$y_{t}$", "#d9f0d3")
            _arrow(ax, (x, y_h + 0.3), (x, y_y - 0.3))
            ax.text(x + 0.08, (y_h + y_y) / 2, r"$W_{hy}$", fontsize=9, va="center")
        if gradients:
            top = y_y if outputs else y_h
            ax.text(x, top + 0.45, rf"$\partial L_{t}/\partial y_{t}$" if outputs else rf"$\partial L/\partial h_{t}$",
                    ha="center", fontsize=9, color=red)
            # the arrow from step t to step t-1 carries W_hh^T delta_t (for t = 1: dL/dh_0)
            _arrow(ax, (x - 0.47, y_h - 0.18), (x_prev + 0.47, y_h - 0.18), color=red, rad=-0.35)
            ax.text((x + x_prev) / 2, y_h - 0.72, rf"$W_{{hh}}^\top\delta_{t}$", ha="center", fontsize=9,
                    color=red)
            ax.text(x - 0.2, y_h - 0.5, rf"$\delta_{t}$", ha="center", fontsize=9, color=red)
    if gradients:
        ax.text(-0.4, y_h - 0.55, r"$\partial L/\partial h_0$", ha="center", va="top", fontsize=9, color=red)
    ax.set_xlim(-1.0, 1.6 * steps + 0.8)
    ax.set_ylim(-0.5, (y_y if outputs else y_h) + (0.9 if gradients else 0.5))
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def lstm_cell_diagram(ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw one LSTM cell (chapter 3): the cell-state line on top, the four gates below it.

    The line :math:`c_{t-1} \\to c_t` along the top is the constant error carousel: it meets only
    a product with :math:`f_t` and a sum with :math:`i_t \\odot g_t` (eq. ``lstm-c``). Below it
    :math:`[h_{t-1}, x_t]` feeds the gates :math:`f_t, i_t, o_t` (sigmoids) and the candidate
    :math:`g_t` (tanh); :math:`h_t = o_t \\odot \\tanh(c_t)` (eq. ``lstm-h``) leaves on the right.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.4))
    y_c, y_gate, y_h = 4.0, 1.9, 0.6        # heights of the cell line, the gates and the state line
    x_f, x_i, x_g, x_o, x_out = 2.6, 4.0, 5.2, 6.7, 8.2

    # the cell state: c_{t-1} -> (x f_t) -> (+ i_t g_t) -> c_t
    _box(ax, 0.0, y_c, r"$c_{t-1}$", "0.92")
    _box(ax, 10.0, y_c, r"$c_t$", "0.92")
    _line(ax, (0.45, y_c), (x_f - 0.25, y_c), color="tab:red")
    _line(ax, (x_f + 0.25, y_c), (x_g - 0.25, y_c), color="tab:red")
    _arrow(ax, (x_g + 0.25, y_c), (9.55, y_c), color="tab:red")
    ax.text(7.2, y_c + 0.15, "cell state (the carousel)", fontsize=9, color="tab:red", ha="center", va="bottom")
    _node(ax, x_f, y_c, r"$\times$")
    _node(ax, x_g, y_c, "$+$")
    # the state line: h_{t-1} and x_t feed every gate
    _box(ax, 0.0, y_h, r"$h_{t-1}$", "#fde3c8")
    _box(ax, 1.3, -0.7, "$x_t$", "#dbe9f6")
    _line(ax, (0.45, y_h), (x_o, y_h))
    _line(ax, (1.3, -0.42), (1.3, y_h))
    for x, text, label in ((x_f, r"$\sigma$", "$f_t$"), (x_i, r"$\sigma$", "$i_t$"),
                           (x_g, r"$\tanh$", "$g_t$"), (x_o, r"$\sigma$", "$o_t$")):
        _arrow(ax, (x, y_h), (x, y_gate - 0.28))
        _box(ax, x, y_gate, text, "#d9f0d3", w=0.75, h=0.5)
        ax.text(x + 0.42, y_gate + 0.36, label, fontsize=10, va="bottom")
    # forget: f_t into the product on the cell line
    _arrow(ax, (x_f, y_gate + 0.28), (x_f, y_c - 0.25))
    # write: i_t * g_t, then into the sum
    _node(ax, x_g, 3.0, r"$\times$")
    _line(ax, (x_i, y_gate + 0.28), (x_i, 3.0))
    _arrow(ax, (x_i, 3.0), (x_g - 0.25, 3.0))
    _arrow(ax, (x_g, y_gate + 0.28), (x_g, 3.0 - 0.25))
    _arrow(ax, (x_g, 3.0 + 0.25), (x_g, y_c - 0.25))
    # read: h_t = o_t * tanh(c_t)
    _box(ax, x_out, 3.0, r"$\tanh$", "#d9f0d3", w=0.75, h=0.45)
    _arrow(ax, (x_out, y_c), (x_out, 3.0 + 0.25))
    _node(ax, x_out, y_gate, r"$\times$")
    _arrow(ax, (x_out, 3.0 - 0.23), (x_out, y_gate + 0.25))
    _arrow(ax, (x_o + 0.38, y_gate), (x_out - 0.25, y_gate))
    _line(ax, (x_out, y_gate - 0.25), (x_out, y_h))
    _arrow(ax, (x_out, y_h), (9.55, y_h))
    _box(ax, 10.0, y_h, "$h_t$", "#fde3c8")
    ax.set_xlim(-0.6, 10.6)
    ax.set_ylim(-1.2, 4.7)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def _tap(ax: Axes, x: float, y: float) -> None:
    """A dot where a line branches off another."""
    ax.plot([x], [y], "o", ms=4, color="0.2", zorder=2)


def gru_cell_diagram(ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw one GRU cell (chapter 4) in the form of Cho et al.: the state line on top, gates below.

    The line :math:`h_{t-1} \\to h_t` along the top meets a product with the update gate
    :math:`z_t` (keep) and a sum with :math:`(1 - z_t) \\odot n_t` (write), eq. ``gru-state``:
    the LSTM's cell line with coupled gates. Below it :math:`h_{t-1}` and :math:`x_t` feed the
    gates :math:`z_t` and :math:`r_t` (sigmoids, eqs. ``gru-update``, ``gru-reset``); the
    candidate :math:`n_t` (tanh) sees :math:`x_t` and :math:`r_t \\odot h_{t-1}`
    (eq. ``gru-candidate-cho``). :func:`gru_reset_placements` contrasts this with the cuDNN form.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.4))
    y_top, y_mix, y_gate, y_h, y_x = 4.0, 3.2, 2.1, 0.9, 0.2  # state line, (1-z) n, gates, h and x lines
    x_z, x_r, x_reset, x_n, x_out = 2.2, 3.6, 5.0, 6.4, 9.0
    red = "tab:red"
    # the state line: h_{t-1} -> (x z_t) -> (+ (1 - z_t) n_t) -> h_t
    _box(ax, 0.0, y_top, r"$h_{t-1}$", "#fde3c8")
    _box(ax, x_out, y_top, "$h_t$", "#fde3c8")
    _line(ax, (0.45, y_top), (x_z - 0.25, y_top), color=red)
    _line(ax, (x_z + 0.25, y_top), (x_n - 0.25, y_top), color=red)
    _arrow(ax, (x_n + 0.25, y_top), (x_out - 0.45, y_top), color=red)
    ax.text(4.3, y_top + 0.15, "the state: keep, then write", fontsize=9, color=red, ha="center", va="bottom")
    _node(ax, x_z, y_top, r"$\times$")
    _node(ax, x_n, y_top, "$+$")
    # h_{t-1} runs down and along to the gates and the reset; x_t runs below it to every block
    _line(ax, (0.0, y_top - 0.3), (0.0, y_h), (x_reset - 0.25, y_h))
    _box(ax, 1.1, -0.6, "$x_t$", "#dbe9f6")
    _line(ax, (1.1, -0.33), (1.1, y_x), (x_n, y_x))
    for x, label in ((x_z, "$z_t$"), (x_r, "$r_t$")):
        _tap(ax, x, y_h)
        _tap(ax, x, y_x)
        _arrow(ax, (x, y_x), (x, y_gate - 0.27))
        _box(ax, x, y_gate, r"$\sigma$", "#d9f0d3", w=0.7, h=0.5)
        ax.text(x - 0.42, y_gate + 0.33, label, fontsize=10, va="bottom", ha="right")
    # the reset: r_t * h_{t-1} is what the candidate sees of the old state
    _line(ax, (x_r + 0.35, y_gate), (x_reset, y_gate))
    _arrow(ax, (x_reset, y_gate), (x_reset, y_h + 0.25))
    _node(ax, x_reset, y_h, r"$\times$")
    ax.text(x_reset + 0.3, y_h - 0.3, r"$r_t \odot h_{t-1}$", fontsize=9, va="top")
    _line(ax, (x_reset + 0.25, y_h), (x_n, y_h))
    _tap(ax, x_n, y_h)
    _arrow(ax, (x_n, y_x), (x_n, y_gate - 0.27))
    _box(ax, x_n, y_gate, r"$\tanh$", "#d9f0d3", w=0.75, h=0.5)
    ax.text(x_n + 0.45, y_gate + 0.1, "$n_t$", fontsize=10, va="bottom")
    # keep: z_t into the product on the state line; write: (1 - z_t) * n_t into the sum
    _arrow(ax, (x_z, y_gate + 0.27), (x_z, y_top - 0.25))
    _tap(ax, x_z, y_mix)
    _line(ax, (x_z, y_mix), (4.1, y_mix))
    _box(ax, 4.5, y_mix, "$1 -$", "#d9f0d3", w=0.7, h=0.45)
    _arrow(ax, (4.85, y_mix), (x_n - 0.25, y_mix))
    _node(ax, x_n, y_mix, r"$\times$")
    _arrow(ax, (x_n, y_gate + 0.27), (x_n, y_mix - 0.25))
    _arrow(ax, (x_n, y_mix + 0.25), (x_n, y_top - 0.25))
    ax.set_xlim(-0.6, 9.6)
    ax.set_ylim(-1.1, 4.7)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def gru_reset_placements(fig: Figure | None = None) -> Figure:
    """Draw the recurrent part of one GRU step in both forms, side by side (chapter 4).

    Left, the form of Cho et al. (eq. ``gru-candidate-cho``): the product :math:`W_{hn}(r_t \\odot
    h_{t-1})` must wait for :math:`r_t`, which needs the product with :math:`W_{hr}` first: two
    dependent matrix products per step. Right, the form of cuDNN and ``torch.nn.GRU``
    (eq. ``gru-candidate-after``): all three blocks need only :math:`h_{t-1}`, so they are one
    product with the stacked :math:`W_{hh}`, and :math:`r_t` multiplies its :math:`n` block after.
    Each product is a purple box labelled "product 1", "product 2".

    Parameters
    ----------
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into; a new one is made if omitted.

    Returns
    -------
    matplotlib.figure.Figure
        With two axes, titled by the form each one draws.
    """
    if fig is None:
        fig = plt.figure(figsize=(12.0, 3.0))
    elif fig.axes:
        raise ValueError(f"fig must be empty, got a figure with {len(fig.axes)} axes")
    ax_before, ax_after = fig.subplots(1, 2)
    purple, y_top, y_low = "#e5d4ef", 1.6, 0.2

    def product(ax: Axes, x: float, y: float, text: str, label: str, w: float = 1.7) -> None:
        _box(ax, x, y, "", purple, w=w, h=0.6)
        ax.text(x, y, text, ha="center", va="center", fontsize=10)
        ax.text(x, y + 0.38, label, ha="center", va="bottom", fontsize=9, color="tab:purple")

    def gate(ax: Axes, x: float, y: float, text: str, w: float = 1.3) -> None:
        _box(ax, x, y, "", "#d9f0d3", w=w, h=0.5)
        ax.text(x, y, text, ha="center", va="center", fontsize=10)

    # reset before the product: h -> [W_hr; W_hz] -> r, z;  then W_hn (r * h) -> n
    ax = ax_before
    _box(ax, 0.0, y_top, r"$h_{t-1}$", "#fde3c8")
    product(ax, 2.1, y_top, r"$W_{hr}, W_{hz}$", "product 1")
    _arrow(ax, (0.45, y_top), (1.25, y_top))
    gate(ax, 4.3, y_top, r"$\sigma$: $r_t, z_t$")
    _arrow(ax, (2.95, y_top), (3.65, y_top))
    _line(ax, (0.0, y_top - 0.3), (0.0, y_low), (5.35, y_low))
    _node(ax, 5.6, y_low, r"$\times$")
    _arrow(ax, (4.7, y_top - 0.25), (5.6, y_low + 0.25))
    ax.text(5.6, y_low - 0.32, r"$r_t \odot h_{t-1}$", ha="center", va="top", fontsize=9)
    product(ax, 7.2, y_low, r"$W_{hn}$", "product 2, waits for $r_t$", w=1.2)
    _arrow(ax, (5.85, y_low), (6.55, y_low))
    gate(ax, 9.1, y_low, r"$\tanh$: $n_t$")
    _arrow(ax, (7.85, y_low), (8.45, y_low))
    ax.set_title("reset before the product (Cho et al.):\ntwo dependent products per step", fontsize=11)

    # reset after the product: h -> W_hh (all three blocks) -> r, z and W_hn h + b_hn -> r * (...) -> n
    ax = ax_after
    _box(ax, 0.0, y_top, r"$h_{t-1}$", "#fde3c8")
    product(ax, 2.1, y_top, r"$W_{hr}, W_{hz}, W_{hn}$", "product 1, the only one", w=2.3)
    _arrow(ax, (0.45, y_top), (1.0, y_top))
    gate(ax, 4.8, y_top, r"$\sigma$: $r_t, z_t$")
    _arrow(ax, (3.2, y_top), (4.15, y_top))
    _line(ax, (2.9, y_top - 0.3), (2.9, y_low), (5.35, y_low))
    ax.text(4.1, y_low + 0.08, r"$W_{hn} h_{t-1} + b_{hn}$", ha="center", va="bottom", fontsize=9)
    _node(ax, 5.6, y_low, r"$\times$")
    _arrow(ax, (5.2, y_top - 0.25), (5.6, y_low + 0.25))
    gate(ax, 7.4, y_low, r"$\tanh$: $n_t$")
    _arrow(ax, (5.85, y_low), (6.75, y_low))
    ax.set_title("reset after the product (cuDNN, torch.nn.GRU):\none product per step", fontsize=11)

    for ax in (ax_before, ax_after):
        ax.set_xlim(-0.6, 10.0)
        ax.set_ylim(-0.6, 2.4)
        ax.set_aspect("equal")
        ax.axis("off")
    return fig
