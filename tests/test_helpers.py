"""The small helper modules: seeding, device choice, plotting, data."""

from __future__ import annotations

import random

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from rnnbook import device as device_mod  # noqa: E402
from rnnbook.data import ADDING_BASELINE_MSE, adding_problem  # noqa: E402
from rnnbook.plot import BOOK_STYLE, unrolled_diagram, use_book_style  # noqa: E402
from rnnbook.seed import seed_everything  # noqa: E402


def test_seed_everything_makes_python_numpy_and_torch_repeat():
    def draw():
        rng = seed_everything(7)
        return random.random(), np.random.rand(), torch.rand(1).item(), rng.random()

    assert draw() == draw()
    seed_everything(8)
    assert torch.rand(1).item() != draw()[2]


@pytest.mark.parametrize("bad", [-1, 1.5, True, "0"])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises((TypeError, ValueError), match="seed must be a non-negative int"):
        seed_everything(bad)


def test_get_device_order(monkeypatch):
    """CUDA first, then MPS, then the CPU; asking for a missing device is an error."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert device_mod.get_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert device_mod.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device_mod.get_device() == torch.device("cuda")
    assert device_mod.get_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="'cuda' was asked for but is not available"):
        device_mod.get_device("cuda")
    with pytest.raises(ValueError, match="prefer must be one of"):
        device_mod.get_device("tpu")


def test_plot_style_and_diagram():
    use_book_style()
    assert matplotlib.rcParams["axes.grid"] is BOOK_STYLE["axes.grid"]
    ax = unrolled_diagram(steps=3, gradients=True, title="t")
    texts = {t.get_text() for t in ax.texts}
    assert {"$x_3$", "$h_0$", "$y_2$", r"$\delta_3$"} <= texts
    with pytest.raises(ValueError, match="steps must be a positive int"):
        unrolled_diagram(steps=0)


def test_adding_problem_targets_and_markers():
    """Two markers per sequence, one in each half; the target is the sum of the marked values."""
    X, y = adding_problem(500, 20, np.random.default_rng(0))
    assert X.shape == (20, 500, 2) and y.shape == (500, 1) and X.dtype == np.float32
    markers = X[:, :, 1]
    assert np.all(markers.sum(axis=0) == 2)
    assert np.all(markers[:10].sum(axis=0) == 1) and np.all(markers[10:].sum(axis=0) == 1)
    np.testing.assert_allclose(y[:, 0], (X[:, :, 0] * markers).sum(axis=0), rtol=1e-6)
    # the baseline: predicting the mean, 1.0, has MSE Var(u1 + u2) = 1/6
    assert abs(np.mean((y - 1.0) ** 2) - ADDING_BASELINE_MSE) < 0.03
    with pytest.raises(ValueError, match="T must be at least 2"):
        adding_problem(4, 1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        adding_problem(4, 10, 0)


def test_seed_everything_accepts_numpy_integers():
    """Issue 9, defect 6: np.int64(3) passed the check and was then refused by random.seed."""
    def draw(seed):
        seed_everything(seed)
        return random.random(), np.random.rand(), torch.rand(1).item()

    assert draw(np.int64(3)) == draw(3)


def test_import_without_torch_says_how_to_install_it():
    """Issue 9, defect 6: `import rnnbook.torch` without torch gave a bare ModuleNotFoundError."""
    import subprocess
    import sys

    for module in ("rnnbook.torch", "rnnbook.train"):
        code = f"import sys; sys.modules['torch'] = None; import rnnbook.numpy; import {module}"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode != 0
        assert f"ImportError: {module} needs PyTorch" in result.stderr and "pip install 'rnnbook[torch]'" in result.stderr
    ok = subprocess.run([sys.executable, "-c", "import sys; sys.modules['torch'] = None; import rnnbook.numpy, rnnbook.gradcheck, rnnbook.data"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr  # the NumPy side works without torch
