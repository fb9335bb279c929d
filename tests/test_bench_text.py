"""The baseline of benchmarks/bench_text.py is a correct model (issue 10's performance section): the
one-sequence, min-char-rnn-style loop's hand-written gradient matches finite differences, and its
training lowers the loss. (Its speed is measured, never asserted.)"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rnnbook.gradcheck import check_gradients

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_text  # noqa: E402


def test_one_sequence_baseline_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 6, size=200)
    model = bench_text.OneSequence(ids, V=6, H=5, T=8)
    for p in model.params.values():
        p[...] = rng.normal(scale=0.5, size=p.shape)
    chunk, h = ids[:9], rng.normal(scale=0.5, size=(5, 1))
    _, grads, _ = model.loss_and_grads(chunk, h)
    check_gradients(lambda: model.loss_and_grads(chunk, h)[0], model.params, grads).assert_ok(1e-6)


def test_one_sequence_baseline_learns_a_repeating_text():
    model = bench_text.OneSequence(np.tile(np.arange(5), 200), V=5, H=16, T=25)
    losses = [model.step() for _ in range(30)]
    assert losses[0] > 0.9 * np.log(5) and losses[-1] < 0.2 * np.log(5)
