"""Sequence classification (chapter 9, rnnbook.classify and rnnbook.torch.classify): padding does not
change a word's logits, the naive Bayes baseline matches a hand computation, the data split does not
leak, the metrics match hand counts, and bad input is refused with a clear error."""

from __future__ import annotations

from fractions import Fraction
from math import log

import numpy as np
import pytest
import torch

from rnnbook.classify import (LANGUAGES, CharVocabulary, NaiveBayes, WordBatches, assign_languages, build_dataset,
                              char_ngrams, confusion_matrix, language_zipf, pad_batch, scores)
from rnnbook.torch.classify import (SequenceClassifier, class_weights, classify_loss, last_valid, masked_mean,
                                    predict_logits)
from rnnbook.train import LoopConfig, train


def random_sequences(rng, n, vocab_size, max_len):
    return [rng.integers(2, vocab_size, size=rng.integers(1, max_len + 1)) for _ in range(n)]


# --- padding: a word's logits alone equal its logits in a padded batch (eq. classify-readout) ---------

@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("readout", ["last", "mean"])
def test_padding_does_not_change_a_words_logits(cell, readout):
    torch.manual_seed(0)
    model = SequenceClassifier(12, 4, hidden_size=6, embedding_dim=5, cell=cell, readout=readout, dtype=torch.float64)
    seqs = random_sequences(np.random.default_rng(1), 9, 12, 11)
    seqs[3] = seqs[3][:1]  # a one-step word among long ones
    batch = model(*pad_batch(seqs))
    alone = torch.cat([model(*pad_batch([s])) for s in seqs])
    assert batch.shape == (9, 4) and pad_batch(seqs)[0].shape[0] == max(len(s) for s in seqs)
    torch.testing.assert_close(batch, alone, rtol=1e-12, atol=1e-12)


class ReadsPaddedLastStep(SequenceClassifier):
    def pool(self, Y, lengths):
        return Y[-1]


def test_reading_the_padded_last_step_does_change_them():
    """The control: the test above would fail for the wrong readout."""
    torch.manual_seed(0)
    model = ReadsPaddedLastStep(12, 4, hidden_size=6, dtype=torch.float64)
    seqs = random_sequences(np.random.default_rng(1), 9, 12, 11)
    batch = model(*pad_batch(seqs))
    alone = torch.cat([model(*pad_batch([s])) for s in seqs])
    short = [b for b, s in enumerate(seqs) if len(s) < max(map(len, seqs))]
    assert (batch[short] - alone[short]).abs().amax(dim=1).min() > 1e-6


def test_last_valid_and_masked_mean_against_loops():
    rng = np.random.default_rng(0)
    Y = torch.tensor(rng.normal(size=(5, 4, 3)))
    lengths = np.array([5, 1, 3, 2])
    got = last_valid(Y, lengths)
    for b, n in enumerate(lengths):
        assert torch.equal(got[b], Y[n - 1, b])
        torch.testing.assert_close(masked_mean(Y, torch.tensor(lengths))[b], Y[:n, b].mean(dim=0))


@pytest.mark.parametrize("lengths, error, match", [
    (np.array([0, 2, 3, 1]), ValueError, r"lengths must be in \[1, T\] = \[1, 5\].*from 0 to 3"),
    (np.array([6, 2, 3, 1]), ValueError, r"lengths must be in \[1, T\] = \[1, 5\].*from 1 to 6"),
    (np.array([1, 2, 3]), ValueError, r"lengths must have shape \(B,\) = \(4,\).*got \(3,\)"),
    (np.array([1.0, 2, 3, 1]), TypeError, r"lengths must be an integer tensor"),
    ([1, 2, 3, 1], TypeError, r"lengths must be an integer tensor"),
])
def test_bad_lengths_are_refused(lengths, error, match):
    Y = torch.zeros(5, 4, 3)
    with pytest.raises(error, match=match):
        last_valid(Y, lengths)
    with pytest.raises(error, match=match):
        masked_mean(Y, lengths)


def test_model_bad_input():
    model = SequenceClassifier(6, 2, hidden_size=4)
    with pytest.raises(TypeError, match="inputs must be an integer tensor"):
        model(torch.zeros(3, 2), np.array([3, 1]))
    with pytest.raises(ValueError, match=r"lengths must be in \[1, T\] = \[1, 3\]"):
        model(torch.ones(3, 2, dtype=torch.long), np.array([4, 1]))
    with pytest.raises(ValueError, match="readout must be one of"):
        SequenceClassifier(6, 2, readout="first")
    with pytest.raises(ValueError, match="pad_id must be an int in"):
        SequenceClassifier(6, 2, pad_id=6)
    with pytest.raises(TypeError, match="batch must be a triple"):
        classify_loss(model, (torch.ones(3, 2, dtype=torch.long), np.array([3, 1])))
    with pytest.raises(TypeError, match="labels must be 2 integer class ids"):
        classify_loss(model, (torch.ones(3, 2, dtype=torch.long), np.array([3, 1]), np.array([0.0, 1.0])))


# --- the loss and its weights ----------------------------------------------------------------------

def test_class_weights_and_the_weighted_loss():
    labels = np.array([0, 0, 0, 1])
    w = class_weights(labels, 2)
    np.testing.assert_allclose(w, [4 / 6, 4 / 2])  # N / (C n_c): each class totals N / C
    assert (w * np.bincount(labels)).tolist() == [2.0, 2.0]
    torch.manual_seed(0)
    model = SequenceClassifier(6, 2, hidden_size=4, dtype=torch.float64)
    X, lengths = pad_batch([np.array([2, 3]), np.array([4]), np.array([5, 2, 3]), np.array([3])])
    loss, carry = classify_loss(model, (X, lengths, labels), weight=w)
    logp = torch.log_softmax(model(X, lengths), dim=1)[torch.arange(4), torch.tensor(labels)]
    expected = -(torch.tensor(w)[labels] * logp).sum() / torch.tensor(w)[labels].sum()
    assert carry is None and abs(loss.item() - expected.item()) < 1e-12
    with pytest.raises(ValueError, match="every class in"):
        class_weights(np.array([0, 0]), 2)


def test_training_with_the_one_loop_learns_a_toy_task():
    """Class = whether the word holds id 2 anywhere: a many-to-one task, trained by rnnbook.train.train."""
    rng = np.random.default_rng(0)
    seqs = random_sequences(rng, 400, 6, 8)
    labels = np.array([int((s == 2).any()) for s in seqs])
    torch.manual_seed(0)
    model = SequenceClassifier(6, 2, hidden_size=16, embedding_dim=8)
    history = train(model, torch.optim.Adam(model.parameters(), lr=1e-2), classify_loss,
                    WordBatches(seqs, labels, 32, 0, num_classes=2), LoopConfig(steps=150))
    accuracy = (predict_logits(model, seqs, batch_size=64).argmax(1) == labels).mean()
    assert history.final_loss() < 0.3 and accuracy > 0.9


# --- padding and batches -----------------------------------------------------------------------------

def test_pad_batch_and_its_errors():
    X, lengths = pad_batch([np.array([5, 6, 7]), np.array([8])])
    assert X.tolist() == [[5, 8], [6, 0], [7, 0]] and lengths.tolist() == [3, 1] and X.dtype == np.int64
    with pytest.raises(TypeError, match="non-empty list"):
        pad_batch([])
    with pytest.raises(ValueError, match=r"sequences\[1\] is empty"):
        pad_batch([np.array([1]), np.array([], dtype=np.int64)])
    with pytest.raises(TypeError, match=r"sequences\[0\] must be a 1-D integer array"):
        pad_batch([np.array([1.0, 2.0])])
    with pytest.raises(TypeError, match=r"sequences\[0\] must be a 1-D integer array"):
        pad_batch([np.ones((2, 2), dtype=np.int64)])


def test_word_batches_balanced_resumable_and_checked():
    seqs = [np.array([2 + i % 3]) for i in range(100)]
    labels = np.array([0] * 90 + [1] * 10)
    share = next(WordBatches(seqs, labels, 2000, 0, num_classes=2, balanced=True))[2].mean()
    assert 0.45 < share < 0.55  # balanced: each class half the time, although class 1 is 10 % of the data
    assert next(WordBatches(seqs, labels, 2000, 0, num_classes=2))[2].mean() < 0.15
    a = WordBatches(seqs, labels, 8, 3, num_classes=2)
    next(a)
    state = a.state_dict()
    first = next(a)
    b = WordBatches(seqs, labels, 8, 99, num_classes=2)
    b.load_state_dict(state)
    assert all(np.array_equal(x, y) for x, y in zip(first, next(b)))
    with pytest.raises(ValueError, match="labels must be in"):
        WordBatches(seqs, labels + 1, 8, 0, num_classes=2)
    with pytest.raises(TypeError, match="labels must be 100 integer class ids"):
        WordBatches(seqs, labels[:5], 8, 0, num_classes=2)
    with pytest.raises(ValueError, match=r"balanced=True needs every class.*\[2\]"):
        WordBatches(seqs, labels, 8, 0, num_classes=3, balanced=True)


def test_char_vocabulary_unicode_unknowns_and_errors():
    vocab = CharVocabulary.from_words(["straße", "niño", "été"])
    assert vocab.chars == tuple(sorted(set("straßeniñoét")))
    assert len(vocab) == len(vocab.chars) + 2 and vocab.PAD == 0 and vocab.UNK == 1
    ids = vocab.encode("señor")  # 'r' is known, 'o' too; nothing unknown
    assert vocab.decode(ids) == "señor" and ids.dtype == np.int64
    assert vocab.encode("ñq").tolist()[1] == vocab.UNK and vocab.decode(vocab.encode("ñq")) == "ñ\ufffd"
    assert vocab.decode([0, *vocab.encode("été"), 0]) == "été"
    with pytest.raises(ValueError, match="word must not be empty"):
        vocab.encode("")
    with pytest.raises(TypeError, match="word must be a str"):
        vocab.encode(["a"])
    with pytest.raises(ValueError, match="distinct and sorted"):
        CharVocabulary(("b", "a"))
    with pytest.raises(ValueError, match="non-empty str"):
        CharVocabulary.from_words(["ok", ""])


# --- naive Bayes against a hand computation -----------------------------------------------------------

def test_char_ngrams():
    assert char_ngrams("ab", (1, 2)) == ["<", "a", "b", ">", "<a", "ab", "b>"]


def test_naive_bayes_matches_a_hand_computation():
    """Class 0: the word "ab"; class 1: "b" and "bb". Unigrams of "<w>", Laplace alpha = 1.

    Counts: class 0 {<: 1, a: 1, b: 1, >: 1} (4 in all), class 1 {<: 2, b: 3, >: 2} (7), |F| = 4.
    theta_0 = 2/8 for each of <, a, b, >; theta_1 = (<: 3/11, a: 1/11, b: 4/11, >: 3/11).
    Priors 1/3 and 2/3. For "ba" and "bz" (z unseen: skipped), the scores are these logs.
    """
    nb = NaiveBayes(orders=(1,), alpha=1.0).fit(["ab", "b", "bb"], np.array([0, 1, 1]), 2)
    t0 = {g: Fraction(2, 8) for g in "<ab>"}
    t1 = {"<": Fraction(3, 11), "a": Fraction(1, 11), "b": Fraction(4, 11), ">": Fraction(3, 11)}
    for word, grams in [("ba", "<ba>"), ("bz", "<b>")]:
        p0 = Fraction(1, 3) * np.prod([t0[g] for g in grams])
        p1 = Fraction(2, 3) * np.prod([t1[g] for g in grams])
        np.testing.assert_allclose(nb.log_joint([word])[0], [log(p0), log(p1)], rtol=1e-14)
    assert nb.predict(["ba", "bz"]).tolist() == [1, 1]  # "ba": 1/3 * 1/256 < 2/3 * 36/14641: the prior decides
    uniform = NaiveBayes(orders=(1,), prior="uniform").fit(["ab", "b", "bb"], np.array([0, 1, 1]), 2)
    np.testing.assert_allclose(uniform.log_joint(["ba"])[0] - nb.log_joint(["ba"])[0], [log(3 / 2), log(3 / 4)])
    assert uniform.predict(["ba"]).tolist() == [0]  # 1/2 * 1/256 > 1/2 * 36/14641


def test_naive_bayes_bad_input():
    with pytest.raises(ValueError, match="not fitted yet"):
        NaiveBayes().predict(["a"])
    with pytest.raises(ValueError, match="prior must be"):
        NaiveBayes(prior="flat")
    with pytest.raises(ValueError, match="alpha must be positive"):
        NaiveBayes(alpha=0)
    with pytest.raises(TypeError, match="orders must be a non-empty sequence"):
        NaiveBayes(orders=3)
    with pytest.raises(ValueError, match="labels must be in"):
        NaiveBayes().fit(["a", "b"], np.array([0, 2]), 2)
    with pytest.raises(TypeError, match="words must be a sequence"):
        NaiveBayes().fit("ab", np.array([0, 1]), 2)


# --- metrics against hand counts ------------------------------------------------------------------------

def test_confusion_matrix_and_scores_by_hand():
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 0, 0, 0])
    M = confusion_matrix(y_true, y_pred, 3)
    assert M.tolist() == [[3, 1, 0], [1, 1, 0], [2, 0, 0]]
    s = scores(M)
    # recall 3/4, 1/2, 0; precision 3/6, 1/2, 0 (nothing predicted 2); F1 0.6, 0.5, 0
    np.testing.assert_allclose(s.recall, [0.75, 0.5, 0.0])
    np.testing.assert_allclose(s.precision, [0.5, 0.5, 0.0])
    np.testing.assert_allclose(s.f1, [0.6, 0.5, 0.0])
    assert s.accuracy == 4 / 8 and abs(s.macro_f1 - 1.1 / 3) < 1e-15
    with pytest.raises(ValueError, match=r"class\(es\) \[2\] have none"):
        scores(confusion_matrix(np.array([0, 1]), np.array([0, 1]), 3))
    with pytest.raises(TypeError, match="square matrix of counts"):
        scores(np.ones((2, 3), dtype=int))
    with pytest.raises(TypeError, match="labels must be 2 integer class ids"):
        confusion_matrix(np.array([0, 1]), np.array([0, 1, 1]), 2)


# --- the data: assignment of shared forms, a split without leakage ----------------------------------------

def test_assign_languages_by_margin():
    zipf = {"en": {"the": 7.7, "hotel": 4.9, "and": 5.0}, "nl": {"the": 5.8, "hotel": 5.0, "een": 7.4},
            "de": {"hotel": 4.9, "and": 4.5}}
    language_of, shared = assign_languages(zipf, margin=1.0)
    assert language_of == {"the": "en", "een": "nl"}
    assert shared == {"hotel": ("nl", "en", "de"), "and": ("en", "de")}
    assert assign_languages(zipf, margin=0.4)[0]["and"] == "en"
    with pytest.raises(ValueError, match="margin must be positive"):
        assign_languages(zipf, margin=0)


def test_language_zipf_reads_the_bundled_lists():
    zipf = language_zipf(("en", "pt"))
    assert zipf["en"]["the"] > 7 and "não" in zipf["pt"] and "the" in zipf["pt"]
    assert all(2 <= len(w) <= 20 and w.isalpha() for table in zipf.values() for w in table)
    with pytest.raises(ValueError, match=r"available: \["):
        language_zipf(("en", "xx"))
    with pytest.raises(TypeError, match="languages must be a non-empty sequence"):
        language_zipf("en")


def test_build_dataset_is_seeded_stratified_and_leak_free():
    sizes = {"en": 60, "fr": 30, "nl": 10}
    data = build_dataset(sizes, seed=3)
    again = build_dataset(sizes, seed=3)
    assert data.train.words == again.train.words and np.array_equal(data.test.labels, again.test.labels)
    assert build_dataset(sizes, seed=4).train.words != data.train.words
    parts = [data.train, data.validation, data.test]
    words = [set(p.words) for p in parts]
    assert not (words[0] & words[1] or words[0] & words[2] or words[1] & words[2])  # no word in two splits
    assert [np.bincount(p.labels, minlength=3).tolist() for p in parts] == [[42, 21, 7], [6, 3, 1], [12, 6, 2]]
    language_of, shared = assign_languages(language_zipf(tuple(sizes)))
    for p in parts:
        assert all(language_of[w] == data.languages[y] for w, y in zip(p.words, p.labels))
        assert not set(p.words) & set(shared)
    assert data.languages == ("en", "fr", "nl") and data.available["nl"] > 10_000


@pytest.mark.parametrize("kwargs, error, match", [
    ({"sizes": {"en": 10 ** 6}}, ValueError, r"sizes\['en'\] = 1000000, but 'en' has only"),
    ({"sizes": {"en": 2}}, ValueError, r"sizes\['en'\] must be an int >= 3"),
    ({"sizes": {"en": 4}}, ValueError, r"too small for fractions"),
    ({"sizes": {"en": 10}, "fractions": (0.5, 0.2, 0.2)}, ValueError, "fractions must sum to 1"),
    ({"sizes": {"en": 10}, "fractions": (0.9, 0.1)}, TypeError, "fractions must be three numbers"),
    ({"sizes": {"xx": 10}}, ValueError, "available"),
    ({"sizes": {}}, TypeError, "sizes must be a non-empty dict"),
])
def test_build_dataset_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        build_dataset(seed=0, **kwargs)


def test_the_chapters_languages_share_the_latin_alphabet():
    zipf = language_zipf(LANGUAGES)
    letters = {c for table in zipf.values() for w in table for c in w}
    assert set("abcdefghijklmnopqrstuvwxyz") <= letters and {"ñ", "ç", "ã", "ë", "ä", "œ"} <= letters
    assert "strasse" in zipf["de"] and "ß" not in letters  # wordfreq casefolds: ß is written ss
