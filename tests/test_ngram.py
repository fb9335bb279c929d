"""rnnbook.ngram (chapter 5): the unigram and Kneser-Ney baselines, against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnbook.ngram import KneserNey, Unigram, bits_per_char

AAB = np.array([0, 0, 1])  # the training text "aab" over the vocabulary {a, b, c}


def test_unigram_add_k_by_hand():
    model = Unigram(AAB, vocab_size=3, k=1.0)
    assert np.allclose(model.probs, [3 / 6, 2 / 6, 1 / 6])  # (c + 1) / (3 + 3)
    assert math.isclose(bits_per_char(model, np.array([0, 1, 2])), -(math.log2(2 / 6) + math.log2(1 / 6)) / 2)


def test_kneser_ney_by_hand():
    """Order 2, D = 1/2, trained on "aab".

    Level 1 (continuation counts: distinct left neighbours): a after a, b after a: N(a) = N(b) = 1, total 2,
    2 types. P1(w) = (max(N(w) - 1/2, 0) + 1/2 * 2 * 1/3) / 2: P1(a) = P1(b) = 5/12, P1(c) = 1/6.
    Level 2 (raw counts): c(aa) = c(ab) = 1, c(a.) = 2, 2 types after a.
    P(b | a) = (1/2 + 1/2 * 2 * 5/12) / 2 = 11/24; P(c | a) = (0 + 1 * 1/6) / 2 = 1/12;
    P(a | b) = P1(a) = 5/12 (b was never followed by anything: back off).
    """
    model = KneserNey(AAB, vocab_size=3, order=2, discount=0.5)
    assert np.allclose(model.distribution([]), [5 / 12, 5 / 12, 1 / 6])
    assert np.allclose(model.distribution([0]), [11 / 24, 11 / 24, 1 / 12])
    assert np.allclose(model.distribution([1]), [5 / 12, 5 / 12, 1 / 6])
    assert np.allclose(model.distribution([1, 1, 0]), model.distribution([0]))  # only the last id counts
    expected = -(math.log2(11 / 24) + math.log2(5 / 12)) / 2  # "aba": P(b | a), then P(a | b)
    assert math.isclose(bits_per_char(model, np.array([0, 1, 0])), expected)


def test_estimated_discount_is_n1_over_n1_plus_2_n2():
    model = KneserNey(np.array([0, 1, 0, 1, 0, 2]), vocab_size=3, order=2)
    # bigrams ab, ba, ab, ba, a c: counts ab 2, ba 2, ac 1 -> n1 = 1, n2 = 2 -> D = 1 / 5
    assert math.isclose(model.discounts[2], 1 / 5)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_every_distribution_sums_to_one_and_is_positive(order):
    rng = np.random.default_rng(order)
    train = rng.integers(0, 6, 300) % rng.integers(1, 6, 300)  # skewed, with a never-seen id (5)
    model = KneserNey(train, vocab_size=7, order=order)
    for history in ([], [3], [0, 1], [6, 6, 6, 6], list(train[-4:])):
        p = model.distribution(history)
        assert p.min() > 0 and math.isclose(p.sum(), 1.0, rel_tol=1e-12)


def test_higher_orders_beat_the_unigram_on_structured_text():
    """A text with strong local structure: the n-gram must use it (bits fall with the order)."""
    text = np.array([ord(c) - 97 for c in "abcabdabcabdabcabd" * 40])
    train, held_out = text[:600], text[600:]
    bits = [bits_per_char(Unigram(train, 4), held_out)] + \
           [bits_per_char(KneserNey(train, 4, order=n), held_out) for n in (1, 2, 3, 4)]
    assert bits[0] > 1.8 and bits[-1] < 0.2
    assert bits[2] < bits[1] and bits[4] < bits[3], bits  # "ab" is followed by c or d: three letters decide


def test_bad_input():
    with pytest.raises(ValueError, match=r"train_ids must hold ids in \[0, 2\]"):
        Unigram(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="train_ids must have at least 3 ids, got 2"):
        KneserNey(np.array([0, 1]), 3, order=3)
    with pytest.raises(ValueError, match=r"discount must be in \(0, 1\)"):
        KneserNey(AAB, 3, order=2, discount=1.0)
    with pytest.raises(ValueError, match="ids must have at least 2 ids"):
        bits_per_char(Unigram(AAB, 3), np.array([0]))
    with pytest.raises(TypeError, match="1-D integer array"):
        bits_per_char(Unigram(AAB, 3), np.array([0.0, 1.0]))
