"""Plotting defaults and the diagrams the chapters draw.

Figures are drawn with matplotlib so that they are built from code the reader can change, and so
the book needs no image files that could drift from the text.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

BOOK_STYLE = {
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


def unrolled_diagram(steps: int = 4, ax: Axes | None = None, outputs: bool = True,
                     gradients: bool = False, title: str | None = None) -> Axes:
    """Draw a vanilla RNN unrolled over ``steps`` time steps.

    Inputs :math:`x_t` feed hidden states :math:`h_t` through :math:`W_{ih}`; each state feeds the
    next through :math:`W_{hh}` (the same matrix at every step) and, if ``outputs``, an output
    :math:`y_t` through :math:`W_{hy}`. With ``gradients`` the backward flow is drawn in red:
    :math:`\\partial L_t / \\partial y_t` into each step and :math:`\\delta_t` flowing right to left.

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
            if t > 1:
                _arrow(ax, (x - 0.47, y_h - 0.18), (x_prev + 0.47, y_h - 0.18), color=red, rad=-0.35)
                ax.text(x - 0.8, y_h - 0.62, rf"$\delta_{t}$", ha="center", fontsize=9, color=red)
    ax.set_xlim(-1.0, 1.6 * steps + 0.8)
    ax.set_ylim(-0.5, (y_y if outputs else y_h) + (0.9 if gradients else 0.5))
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
