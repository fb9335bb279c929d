"""rnnbook.seq2seq (chapter 10): the date task, padding and masking, greedy decoding and beam search.

The references are independent of the code under test: dates are parsed back with ``datetime``
(month names translated by the tables here), beam search is compared with a brute-force
enumeration scored by the teacher-forced forward pass, and decoding one source at a time is
compared with decoding the batch.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
import torch

from rnnbook.seq2seq import (BOS, EOS, FORMATS, PAD, TARGET_CHARS, CharVocab, DateBatches, Seq2Seq, beam_hypotheses, beam_search,
                             exact_match, greedy_decode, length_penalty, make_batch, masked_loss, random_dates,
                             seq2seq_loss, source_chars)
from rnnbook.train import LoopConfig, train

SRC, TGT = CharVocab(source_chars()), CharVocab(TARGET_CHARS)

# The test's own month tables: French and German names to English, for strptime's %B.
FR = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
DE = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split()
EN = "January February March April May June July August September October November December".split()
PATTERNS = ("%d %B %Y", "%B %d, %Y", "%b %d, %Y", "%d %b %Y", "%d/%m/%y", "%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y",
            "%d. %B %Y")


def parse(source: str) -> set[dt.date]:
    """Every date that one of PATTERNS reads in ``source``, French and German months made English."""
    words = source.split()
    english = " ".join(EN[FR.index(w)] if w in FR else EN[DE.index(w)] if w in DE else w for w in words)
    found = set()
    for pattern in PATTERNS:
        try:
            found.add(dt.datetime.strptime(english, pattern).date())
        except ValueError:
            pass
    return found


def test_dates_are_seeded_and_every_answer_parses_back():
    pairs = random_dates(2000, np.random.default_rng(0))
    assert pairs == random_dates(2000, np.random.default_rng(0))
    assert pairs != random_dates(2000, np.random.default_rng(1))
    for source, target in pairs:
        assert parse(source) == {dt.date.fromisoformat(target)}, source
    sources = "".join(s for s, _ in pairs)
    assert {"ä", "é", "û"} <= set(sources)  # März, février, août: Unicode in the sources
    assert len({len(s) for s, _ in pairs}) > 5  # many source lengths: padding is exercised
    assert {t[:4] for _, t in pairs} >= {"1970", "1999", "2000", "2049"}


def test_vocabulary_and_padding():
    assert (PAD, BOS, EOS) == (0, 1, 2) and len(TGT) == 3 + len(TARGET_CHARS)
    ids = TGT.encode("2021-03-03")
    assert TGT.decode(ids + [EOS, 5, 6]) == "2021-03-03" and TGT.decode([BOS] + ids) == "2021-03-03"
    batch = make_batch([("3 mars 2021", "2021-03-03"), ("1.2.1999", "1999-02-01")], SRC, TGT, 11)
    assert batch.src.shape == (11, 2) and batch.src_len.tolist() == [11, 8]
    assert (batch.src[8:, 1] == PAD).all() and (batch.src[:8, 1] != PAD).all()
    assert batch.tgt_len.tolist() == [11, 11] and (batch.tgt[10] == EOS).all()
    assert SRC.decode(batch.src[:, 0]) == "3 mars 2021"


def tiny_model(attention=True, seed=0, max_len=12, tgt_vocab=TGT, hidden=8):
    torch.manual_seed(seed)
    return Seq2Seq(len(SRC), len(tgt_vocab), hidden, 5, attention=attention, max_len=max_len, dtype=torch.float64)


def mixed_batch(n=7, seed=3):
    return make_batch(random_dates(n, np.random.default_rng(seed)), SRC, TGT, 11)


def alone(batch, b):
    """Source b of the batch alone, cut to its own length (no padding at all)."""
    L = int(batch.src_len[b])
    return batch.src[:L, b:b + 1], batch.src_len[b:b + 1]


@pytest.mark.parametrize("attention", [True, False])
def test_batched_greedy_equals_one_at_a_time(attention):
    """The stale-state pitfall: each source must decode from its own encoding, whatever the batch."""
    model, batch = tiny_model(attention), mixed_batch()
    together = greedy_decode(model, batch.src, batch.src_len)
    for b in range(batch.src.shape[1]):
        (single,) = greedy_decode(model, *alone(batch, b))
        assert single.tokens == together[b].tokens
        assert single.logprob == pytest.approx(together[b].logprob, rel=1e-12)
    assert len({h.tokens for h in together}) > 1  # the sources really decode differently


@pytest.mark.parametrize("attention", [True, False])
def test_beam_of_one_is_greedy_and_batching_does_not_matter(attention):
    model, batch = tiny_model(attention, seed=1), mixed_batch()
    greedy = greedy_decode(model, batch.src, batch.src_len)
    beam1 = beam_search(model, batch.src, batch.src_len, beam=1, alpha=0.6)
    assert [h.tokens for h in beam1] == [h.tokens for h in greedy]
    assert [h.logprob for h in beam1] == pytest.approx([h.logprob for h in greedy], rel=1e-12)
    beam3 = beam_search(model, batch.src, batch.src_len, beam=3, alpha=0.6)
    for b in range(batch.src.shape[1]):
        (single,) = beam_search(model, *alone(batch, b), beam=3, alpha=0.6)
        assert single.tokens == beam3[b].tokens and single.score == pytest.approx(beam3[b].score, rel=1e-12)


def brute_force(model, src, src_len, max_len, alpha):
    """Every possible output (tokens of 'ab' then <eos>, or max_len tokens without one), scored by
    teacher forcing: {tokens: (logprob, score)}."""
    scores = {}
    for n in range(max_len + 1):
        for body in itertools.product((3, 4), repeat=n):
            seq = list(body) + ([EOS] if n < max_len else [])
            tgt = torch.tensor(seq)[:, None]
            logits, _ = model(src, src_len, tgt)
            logprob = float(torch.log_softmax(logits[:, 0], -1).gather(1, tgt).sum())
            scores[tuple(body)] = (logprob, logprob / length_penalty(len(seq), alpha))
    return scores


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_a_wide_beam_finds_the_brute_force_best(alpha):
    """With beam >= every possible output (3 symbols, 4 steps: 31 outputs), beam search finishes
    every output with the log-probability teacher forcing gives it (each hypothesis carried its own
    state), and returns the brute-force best."""
    vocab = CharVocab("ab")
    model = tiny_model(seed=4, max_len=4, tgt_vocab=vocab, hidden=4)
    batch = mixed_batch(6, seed=5)
    wins = 0
    with torch.no_grad():
        for b in range(6):
            src, src_len = alone(batch, b)
            scores = brute_force(model, src, src_len, 4, alpha)
            (finished,) = beam_hypotheses(model, src, src_len, beam=100, alpha=alpha)
            assert sorted(h.tokens for h in finished) == sorted(scores) and len(scores) == 31
            for h in finished:
                assert (h.logprob, h.score) == pytest.approx(scores[h.tokens], rel=1e-10)
            best = max(scores, key=lambda t: scores[t][1])
            (found,) = beam_search(model, src, src_len, beam=100, alpha=alpha)
            assert found.tokens == best and found.score == pytest.approx(scores[best][1], rel=1e-10)
            (greedy,) = greedy_decode(model, src, src_len)
            wins += greedy.tokens != best
    assert wins > 0  # the search is not trivial: greedy misses the best on some source


def test_attention_sums_to_one_and_is_zero_on_padding():
    model, batch = tiny_model(seed=2), mixed_batch()
    logits, weights = model(batch.src, batch.src_len, batch.tgt)  # weights (T, S, B)
    assert torch.allclose(weights.sum(1), torch.ones((), dtype=torch.float64), atol=1e-12)
    S = batch.src.shape[0]
    pad = torch.arange(S)[:, None] >= batch.src_len[None]  # (S, B)
    assert pad.any() and (weights[:, pad] == 0).all() and (weights[:, ~pad] > 0).all()
    noisy = batch.src.clone()
    noisy[pad] = torch.randint(3, len(SRC), (int(pad.sum()),))  # anything in the padding: nothing changes
    logits2, weights2 = model(noisy, batch.src_len, batch.tgt)
    assert torch.equal(logits, logits2) and torch.equal(weights, weights2)


def test_masked_loss_ignores_padded_targets():
    model, batch = tiny_model(seed=2), make_batch(
        [("3 mars 2021", "2021-03-03"), ("May 1, 1999", "1999-05-01")], SRC, TGT, 12)
    tgt = torch.cat([batch.tgt, torch.full((1, 2), PAD)])  # one padded step more for both
    tgt_len = batch.tgt_len.clone()
    tgt_len[1] = 4                                         # and the second target cut after 4 tokens
    logits, _ = model(batch.src, batch.src_len, tgt)
    loss = masked_loss(logits, tgt, tgt_len)
    junk = tgt.clone()
    junk[tgt_len[1]:, 1] = torch.randint(3, len(TGT), (tgt.shape[0] - 4,))
    junk[-1, 0] = 5
    logits_junk, _ = model(batch.src, batch.src_len, junk)  # the decoder also reads the junk: later steps only
    assert masked_loss(logits_junk, junk, tgt_len).item() == loss.item()
    logp = torch.log_softmax(logits, -1)
    by_hand = [-logp[t, b, tgt[t, b]] for b in range(2) for t in range(int(tgt_len[b]))]
    assert loss.item() == pytest.approx(float(torch.stack(by_hand).mean().detach()), rel=1e-12)
    changed = tgt.clone()
    changed[0, 1] = 5 if int(tgt[0, 1]) != 5 else 6
    assert masked_loss(logits, changed, tgt_len).item() != loss.item()  # a valid position does count


def test_training_with_the_one_loop_lowers_the_loss_and_batches_resume():
    torch.manual_seed(0)
    model = Seq2Seq(len(SRC), len(TGT), 16, 8, max_len=11)
    batches = DateBatches(16, SRC, TGT, 11, seed=0)
    history = train(model, torch.optim.Adam(model.parameters(), lr=0.01), seq2seq_loss, batches,
                    LoopConfig(steps=40, max_norm=1.0))
    assert np.mean(history.losses[-5:]) < 0.8 * np.mean(history.losses[:5])
    state = batches.state_dict()
    first = next(batches)
    again = DateBatches(16, SRC, TGT, 11, seed=99)
    again.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(first, next(again)))
    test = random_dates(20, np.random.default_rng(7))
    hyps = greedy_decode(model, *make_batch(test, SRC, TGT, 11)[:2])
    assert 0.0 <= exact_match(hyps, [t for _, t in test], TGT) <= 1.0


def test_bad_input_is_refused_with_the_argument_named():
    model, batch = tiny_model(), mixed_batch()
    with pytest.raises(ValueError, match=r"target 0 .* longer than max_len=5"):
        make_batch([("3 mars 2021", "2021-03-03")], SRC, TGT, 5)
    with pytest.raises(ValueError, match=r"tgt has 13 steps, longer than max_len=12"):
        model(batch.src, batch.src_len, torch.full((13, batch.src.shape[1]), 3))
    with pytest.raises(ValueError, match=r"sources\[1\] is empty"):
        make_batch([("3 mars 2021", "2021-03-03"), ("", "2021-03-03")], SRC, TGT, 11)
    with pytest.raises(ValueError, match=r"src_len must have shape \(B,\) = \(7,\)"):
        greedy_decode(model, batch.src, batch.src_len[:-1])
    too_long = batch.src_len.clone()
    too_long[0] = batch.src.shape[0] + 1
    with pytest.raises(ValueError, match=r"src_len must be in \[1, S\]"):
        model.encode(batch.src, too_long)
    with pytest.raises(ValueError, match=r"src_len must be in \[1, S\]"):
        model.encode(batch.src, torch.zeros_like(batch.src_len))
    with pytest.raises(ValueError, match=r"beam must be a positive int, got 0"):
        beam_search(model, batch.src, batch.src_len, beam=0)
    with pytest.raises(TypeError, match=r"beam must be a positive int"):
        beam_search(model, batch.src, batch.src_len, beam=2.0)
    with pytest.raises(ValueError, match=r"alpha must be a number >= 0"):
        beam_search(model, batch.src, batch.src_len, beam=2, alpha=-1.0)
    with pytest.raises(ValueError, match=r"max_len must be at most the model's limit 12, got 20"):
        greedy_decode(model, batch.src, batch.src_len, max_len=20)
    with pytest.raises(ValueError, match=r"not in the vocabulary: 'Z'"):
        make_batch([("3 Zorro 2021", "2021-03-03")], SRC, TGT, 11)
    with pytest.raises(TypeError, match=r"src_len must be an int64 tensor"):
        model.encode(batch.src, batch.src_len.float())
    assert len(FORMATS) == 10
