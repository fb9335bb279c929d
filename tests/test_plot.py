"""The GRU diagrams of chapter 4 (rnnbook.plot): they draw, and they draw what the chapter says."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnnbook.plot import gru_cell_diagram, gru_reset_placements  # noqa: E402


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_gru_cell_diagram_draws_gates_state_and_reset():
    """Eqs. gru-reset, gru-update, gru-candidate-cho, gru-state: every symbol is on the picture."""
    ax = gru_cell_diagram(title="one GRU step")
    texts = _texts(ax)
    assert {"$h_{t-1}$", "$h_t$", "$x_t$", "$z_t$", "$r_t$", "$n_t$", r"$r_t \odot h_{t-1}$", "$1 -$"} <= set(texts)
    assert texts.count(r"$\sigma$") == 2 and texts.count(r"$\tanh$") == 1       # two gates, one candidate
    assert texts.count(r"$\times$") == 3 and texts.count("$+$") == 1          # keep, reset, write; one sum
    assert ax.get_title() == "one GRU step" and not ax.axison
    fig, given = plt.subplots()
    assert gru_cell_diagram(ax=given) is given                                # draws where it is asked to
    plt.close("all")


def test_gru_reset_placements_two_panels_two_products_versus_one():
    """Chapter 4: the original form needs two dependent products per step, the cuDNN form one."""
    fig = gru_reset_placements()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    before, after = fig.axes
    assert "before" in before.get_title() and "Cho" in before.get_title()
    assert "after" in after.get_title() and "cuDNN" in after.get_title()
    products = [[t for t in _texts(ax) if t.startswith("product")] for ax in (before, after)]
    assert [len(p) for p in products] == [2, 1]
    assert "waits for $r_t$" in products[0][1]
    assert r"$r_t \odot h_{t-1}$" in _texts(before) and r"$W_{hn} h_{t-1} + b_{hn}$" in _texts(after)
    plt.close("all")


def test_gru_reset_placements_draws_into_an_empty_figure_only():
    fig = plt.figure()
    assert gru_reset_placements(fig) is fig and len(fig.axes) == 2
    with pytest.raises(ValueError, match="fig must be empty, got a figure with 2 axes"):
        gru_reset_placements(fig)
    plt.close("all")
