"""rnnbook.sampling (chapter 5): temperature, top-k, nucleus (top-p) and generation with a priming text."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnnbook.sampling import generate, next_char_probs, sample

logit_rows = st.lists(st.floats(-20, 20, allow_nan=False), min_size=1, max_size=12).map(np.array)


def _allowed(logits: np.ndarray, top_k: int | None, top_p: float | None) -> set[int]:
    """The ids top-k then top-p may emit, computed independently: sort, count, add up with Python floats."""
    p = torch.softmax(torch.tensor(logits, dtype=torch.float64), 0).tolist()
    ranked = sorted(range(len(p)), key=lambda i: (-p[i], i))
    kept = ranked[: top_k or len(p)]
    if top_p is not None:
        mass, total, nucleus = 0.0, sum(p[i] for i in kept), []
        for i in kept:  # the smallest prefix whose (renormalised) mass reaches top_p
            nucleus.append(i)
            mass += p[i] / total
            if mass >= top_p:
                break
        kept = nucleus
    return set(kept)


def test_probabilities_are_the_softmax_of_the_scaled_logits():
    a = np.random.default_rng(0).normal(size=(3, 7)) * 3
    for tau in (0.5, 1.0, 2.0):
        expected = torch.softmax(torch.tensor(a) / tau, dim=-1).numpy()
        assert np.allclose(next_char_probs(a, tau), expected, rtol=1e-12, atol=0)
    big = np.array([1e4, -1e4, 0.0])  # no overflow: the softmax is taken stably
    assert np.array_equal(next_char_probs(big), [1.0, 0.0, 0.0])


@given(logit_rows, st.integers(0, 2**32 - 1))
def test_temperature_zero_is_argmax(logits, seed):
    rng = np.random.default_rng(seed)
    assert int(sample(logits, rng, temperature=0)) == int(np.argmax(logits))
    p = next_char_probs(logits, temperature=0)
    assert p[np.argmax(logits)] == 1.0 and p.sum() == 1.0


def test_generate_at_temperature_zero_is_greedy_decoding():
    """generate(..., temperature=0) equals an argmax loop over the same toy model (a bigram table)."""
    W = np.random.default_rng(1).normal(size=(6, 6))

    def step(i: int, state: int) -> tuple[np.ndarray, int]:
        return W[i] + 0.1 * state, state + 1  # the state (a step count) changes the logits too

    drawn = generate(step, 0, [2, 4], 20, np.random.default_rng(0), temperature=0)
    state, logits = 0, None
    for i in (2, 4):
        logits, state = step(i, state)
    expected = []
    for _ in range(20):
        i = int(np.argmax(logits))
        expected.append(i)
        logits, state = step(i, state)
    assert drawn == expected


@given(logit_rows, st.one_of(st.none(), st.integers(1, 12)), st.one_of(st.none(), st.floats(0.01, 1.0)),
       st.sampled_from([0.3, 1.0, 3.0]), st.integers(0, 2**32 - 1))
def test_top_k_and_top_p_never_emit_an_excluded_char(logits, top_k, top_p, tau, seed):
    draws = sample(np.tile(logits, (200, 1)), np.random.default_rng(seed), tau, top_k, top_p)
    scaled = logits / tau
    assert set(draws.tolist()) <= _allowed(scaled, top_k, top_p)
    p = next_char_probs(logits, tau, top_k, top_p)
    assert set(np.flatnonzero(p).tolist()) <= _allowed(scaled, top_k, top_p)
    assert abs(p.sum() - 1) < 1e-12


def test_top_k_and_top_p_keep_the_expected_sets():
    logits = np.log(np.array([0.1, 0.4, 0.2, 0.3]))
    assert np.flatnonzero(next_char_probs(logits, top_k=2)).tolist() == [1, 3]
    assert np.flatnonzero(next_char_probs(logits, top_p=0.7)).tolist() == [1, 3]    # 0.4 + 0.3 reaches 0.7
    assert np.flatnonzero(next_char_probs(logits, top_p=0.71)).tolist() == [1, 2, 3]
    assert np.flatnonzero(next_char_probs(logits, top_p=0.01)).tolist() == [1]      # always at least one
    assert np.allclose(next_char_probs(logits, top_k=2), [0, 4 / 7, 0, 3 / 7])


def test_draws_follow_the_distribution():
    """50,000 draws: every frequency within 5 standard errors of its probability (a fixed seed)."""
    logits = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])
    for tau, top_k, top_p in [(1.0, None, None), (0.7, 4, None), (1.5, None, 0.8)]:
        p = next_char_probs(logits, tau, top_k, top_p)
        n = 50_000
        draws = sample(np.tile(logits, (n, 1)), np.random.default_rng(7), tau, top_k, top_p)
        freq = np.bincount(draws, minlength=len(p)) / n
        assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12), (freq, p)


def test_bad_arguments_are_refused():
    a = np.zeros(4)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        sample(a, rng, temperature=-0.5)
    with pytest.raises(ValueError, match="temperature must be finite"):
        sample(a, rng, temperature=float("inf"))
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\], got 1.5"):
        sample(a, rng, top_p=1.5)
    with pytest.raises(ValueError, match="top_k must be a positive int, got 0"):
        sample(a, rng, top_k=0)
    with pytest.raises(ValueError, match="logits must have shape"):
        sample(np.zeros((2, 2, 2)), rng)
    with pytest.raises(ValueError, match="logits must be finite"):
        sample(np.array([0.0, np.nan]), rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sample(a, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prime_ids must be a non-empty sequence"):
        generate(lambda i, s: (a, s), None, [], 5, rng)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        generate(lambda i, s: (a, s), None, [0], 5, rng, temperature=-1)


# -- the checker of chapter 5's exercise (rnnbook.exercises.sampling) -------------------------------

def _reader_top_p(p, top_p, mistake=None):
    """A reader's top_p_filter, written independently of the checker's variants; one mistake by keyword."""
    q = np.zeros_like(p)
    for b, row in enumerate(p):
        ids = sorted(range(len(row)), key=lambda i: row[i], reverse=mistake != "ascending")
        kept, mass = [], 0.0
        for i in ids:
            if mistake == "drop_crossing" and mass + row[i] >= top_p and kept:
                break
            kept.append(i)
            mass += row[i]
            if mass >= top_p:
                break
        values = row[kept] / (1.0 if mistake == "no_renorm" else row[kept].sum())
        if mistake == "sorted_order":
            q[b, :len(kept)] = values
        else:
            q[b, kept] = values
    return q


def test_top_p_checker_accepts_a_right_answer_and_names_each_mistake():
    import contextlib
    import io

    from rnnbook.exercises.sampling import check_top_p_filter

    def quiet(fn):
        with contextlib.redirect_stdout(io.StringIO()):
            return check_top_p_filter(fn)

    assert quiet(_reader_top_p).passed
    for mistake, cause in [("no_renorm", "not_renormalised"), ("drop_crossing", "crossing_char_dropped"),
                           ("ascending", "sorted_ascending"), ("sorted_order", "not_scattered_back")]:
        verdict = quiet(lambda p, top_p: _reader_top_p(p, top_p, mistake))
        assert not verdict.passed and verdict.cause == cause, (mistake, verdict.message)

    def unwritten(p, top_p):
        raise NotImplementedError

    assert quiet(unwritten).cause == "not_implemented"
