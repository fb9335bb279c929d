"""Sequence to sequence (chapter 10): a checkable task, an encoder-decoder with additive attention,
greedy decoding and beam search.

The task (:func:`random_dates`) is offline and seeded: a date written in one of many formats, in
English, French or German (``"3 mars 2021"``, ``"Mar 3, 2021"``, ``"03/03/21"``), and its ISO form
``"2021-03-03"``. Every answer can be checked by parsing the source back with ``datetime``.

The model (:class:`Seq2Seq`) reads the source with an ``rnnbook.torch`` GRU and writes the target
one character at a time with another::

    h_j = GRU_enc(emb(x_j), h_{j-1})                                              (s2s-enc)
    e_tj = v^T tanh(W_a s_{t-1} + U_a h_j),  alpha_t = softmax_j(e_tj),  c_t = sum_j alpha_tj h_j   (s2s-att)
    s_t = GRU_dec([emb(y_{t-1}); c_t], s_{t-1}),  p(y_t | y_<t, x) = softmax(W_o [s_t; c_t] + b_o)  (s2s-dec)

Without attention, ``c_t = h_S`` for every ``t`` (the encoder's last valid state, as Cho et al.,
2014). Shapes are time-major: a batch of sources is ``(S, B)`` token ids with ``lengths`` ``(B,)``,
right-padded with :data:`PAD`. Padding never reaches a result: the encoder is read at each source's
own last valid step, attention gives padding exactly zero weight, and the loss counts only the
target positions up to and including :data:`EOS`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rnnbook.checks import check_bool, check_int, check_rng, check_size, given, require_torch

require_torch("rnnbook.seq2seq")

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbook.torch.gru import GRU

#: The id of the padding token, in every :class:`CharVocab`.
PAD = 0
#: The id of the begin-of-sequence token the decoder reads first.
BOS = 1
#: The id of the end-of-sequence token that ends every target.
EOS = 2
#: The special tokens' names, by id.
SPECIALS = ("<pad>", "<bos>", "<eos>")

# --- the task: dates in many formats -> ISO ------------------------------------------------------

#: Month names by language, January first.
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"),
}
#: The ten source formats, with ``{d}`` the day, ``{dd}`` the two-digit day, ``{m}``/``{mm}`` the month,
#: ``{Y}`` the year, ``{yy}`` its last two digits, ``{en}``/``{fr}``/``{de}`` the month's name, ``{en3}`` its first three letters.
FORMATS = ("{d} {en} {Y}", "{en} {d}, {Y}", "{en3} {d}, {Y}", "{d} {en3} {Y}", "{dd}/{mm}/{yy}",
           "{dd}/{mm}/{Y}", "{Y}-{m}-{d}", "{d}.{m}.{Y}", "{d} {fr} {Y}", "{d}. {de} {Y}")
#: The years drawn (both ends included); a two-digit year ``yy`` stands for 19yy from 70, else 20yy.
YEARS = (1970, 2049)
#: The characters of the ISO targets.
TARGET_CHARS = "-0123456789"


def _format_date(date: dt.date, fmt: str) -> str:
    """``date`` written in ``fmt``, one of :data:`FORMATS` (e.g. ``"{d} {fr} {Y}"`` -> ``"3 mars 2021"``)."""
    m = date.month - 1
    return fmt.format(d=date.day, dd=f"{date.day:02d}", m=date.month, mm=f"{date.month:02d}", Y=date.year,
                      yy=f"{date.year % 100:02d}", en=MONTHS["en"][m], fr=MONTHS["fr"][m], de=MONTHS["de"][m],
                      en3=MONTHS["en"][m][:3])


def random_dates(n: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """``n`` pairs ``(source, target)``: a uniform random day in :data:`YEARS` written in a uniform
    random format of :data:`FORMATS`, and its ISO form ``YYYY-MM-DD``."""
    check_size("n", n)
    check_rng(rng)
    first, last = dt.date(YEARS[0], 1, 1).toordinal(), dt.date(YEARS[1], 12, 31).toordinal()
    days = rng.integers(first, last + 1, size=n)
    formats = rng.integers(0, len(FORMATS), size=n)
    pairs = []
    for day, f in zip(days.tolist(), formats.tolist()):
        date = dt.date.fromordinal(day)
        pairs.append((_format_date(date, FORMATS[f]), date.isoformat()))
    return pairs


def source_chars() -> str:
    """Every character a source of :func:`random_dates` can hold, sorted."""
    text = "0123456789 ,./-" + "".join("".join(names) for names in MONTHS.values())
    return "".join(sorted(set(text)))


# --- vocabulary and padded batches --------------------------------------------------------------

@dataclass(frozen=True)
class CharVocab:
    """Characters numbered after the specials: ``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2, then ``chars`` in order."""

    chars: str

    def __post_init__(self) -> None:
        if not isinstance(self.chars, str) or not self.chars or len(set(self.chars)) != len(self.chars):
            raise ValueError(f"chars must be a non-empty str of distinct characters, got {given(self.chars)}")

    def __len__(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def encode(self, text: str, name: str = "text") -> list[int]:
        """The ids of ``text``'s characters (no specials added). Raises ValueError on an unknown character."""
        index = {c: i + len(SPECIALS) for i, c in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"{name} has character(s) not in the vocabulary: {''.join(unknown)!r} (in {text!r})")
        return [index[c] for c in text]

    def decode(self, ids: Any) -> str:
        """The text of ``ids``, up to the first ``<eos>``; ``<pad>`` and ``<bos>`` are skipped."""
        out = []
        for i in (ids.tolist() if hasattr(ids, "tolist") else list(ids)):
            if i == EOS:
                break
            if i >= len(SPECIALS):
                out.append(self.chars[i - len(SPECIALS)])
        return "".join(out)


class Batch(NamedTuple):
    """A padded batch, time-major: ``src`` (S, B) and ``tgt`` (T, B) token ids, right-padded with
    :data:`PAD`; ``src_len`` and ``tgt_len`` (B,) count the valid positions (``tgt`` ends with :data:`EOS`)."""

    src: Tensor
    src_len: Tensor
    tgt: Tensor
    tgt_len: Tensor

    def to(self, device: Any) -> Batch:
        return Batch(*(x.to(device) for x in self))


def pad(seqs: list[list[int]], name: str) -> tuple[Tensor, Tensor]:
    """Right-pad id lists into ``(L, B)`` with :data:`PAD`; return it and the lengths ``(B,)``.

    Raises
    ------
    ValueError
        If ``seqs`` is empty or one of them is (the message names which).
    """
    if len(seqs) == 0:
        raise ValueError(f"{name} must hold at least one sequence, got none")
    for b, s in enumerate(seqs):
        if len(s) == 0:
            raise ValueError(f"{name}[{b}] is empty: every sequence needs at least one token")
    lengths = torch.tensor([len(s) for s in seqs])
    out = torch.full((int(lengths.max()), len(seqs)), PAD, dtype=torch.long)
    for b, s in enumerate(seqs):
        out[:len(s), b] = torch.tensor(s)
    return out, lengths


def make_batch(pairs: list[tuple[str, str]], src_vocab: CharVocab, tgt_vocab: CharVocab, max_len: int) -> Batch:
    """Encode and pad ``(source, target)`` pairs; each target gets :data:`EOS` appended.

    Raises
    ------
    ValueError
        If a source is empty, a character is not in its vocabulary, or a target with its ``<eos>``
        is longer than ``max_len`` (the decoder's limit).
    """
    check_size("max_len", max_len)
    src, src_len = pad([src_vocab.encode(s, f"source {b}") for b, (s, _) in enumerate(pairs)], "sources")
    targets = [tgt_vocab.encode(t, f"target {b}") + [EOS] for b, (_, t) in enumerate(pairs)]
    for b, t in enumerate(targets):
        if len(t) > max_len:
            raise ValueError(f"target {b} ({pairs[b][1]!r}) is {len(t)} tokens with <eos>, longer than "
                             f"max_len={max_len}, the decoder's limit")
    tgt, tgt_len = pad(targets, "targets")
    return Batch(src, src_len, tgt, tgt_len)


def check_lengths(src: Tensor, lengths: Tensor, name: str = "src_len") -> None:
    """Check that ``lengths`` (B,) fits ``src`` (S, B): integers in ``[1, S]``, one per column.

    Raises
    ------
    TypeError, ValueError
        Naming ``src`` or ``lengths`` (as ``name``), the expected shape or range, and what was given.
    """
    if not isinstance(src, Tensor) or src.dim() != 2 or src.dtype != torch.long:
        raise TypeError(f"src must be a (S, B) int64 tensor of token ids, got {given(src)}")
    if not isinstance(lengths, Tensor) or lengths.dtype != torch.long:
        raise TypeError(f"{name} must be an int64 tensor of shape (B,), got {given(lengths)}")
    S, B = src.shape
    if tuple(lengths.shape) != (B,):
        raise ValueError(f"{name} must have shape (B,) = ({B},), one length per source in the batch, "
                         f"got {tuple(lengths.shape)}")
    if B and (int(lengths.min()) < 1 or int(lengths.max()) > S):
        raise ValueError(f"{name} must be in [1, S] = [1, {S}] (no empty source, none longer than src), "
                         f"got values in [{int(lengths.min())}, {int(lengths.max())}]")


# --- the model ------------------------------------------------------------------------------------

class Memory(NamedTuple):
    """What the decoder reads of the encoded sources: ``outputs`` (S, B, H) = :math:`h_j`, ``keys``
    (S, B, H) = :math:`U_a h_j` (None without attention), ``mask`` (S, B), true at valid positions,
    and ``last`` (B, H), each source's own last valid state."""

    outputs: Tensor
    keys: Tensor | None
    mask: Tensor
    last: Tensor

    def select(self, index: Tensor) -> Memory:
        """The memory of batch entries ``index`` (a beam repeats one source's entry)."""
        keys = None if self.keys is None else self.keys[:, index]
        return Memory(self.outputs[:, index], keys, self.mask[:, index], self.last[index])


class Seq2Seq(nn.Module):
    """A GRU encoder-decoder, with additive attention (eqs. ``s2s-enc``, ``s2s-att``, ``s2s-dec``) or without.

    Parameters
    ----------
    src_vocab_size, tgt_vocab_size : int
    hidden_size : int, default 64
        H, of both GRUs and of the attention.
    embed_size : int, default 16
    attention : bool, default True
        Without it the context is the encoder's last valid state at every step.
    max_len : int, default 16
        The decoder's limit: the longest target (with ``<eos>``) it trains on or writes.
    device, dtype :
        Where and in what precision the parameters live.
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, hidden_size: int = 64, embed_size: int = 16,
                 attention: bool = True, max_len: int = 16, *, device: Any = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.tgt_vocab_size = check_size("tgt_vocab_size", tgt_vocab_size)
        H, E = check_size("hidden_size", hidden_size), check_size("embed_size", embed_size)
        self.hidden_size, self.attention, self.max_len = H, check_bool("attention", attention), check_size("max_len", max_len)
        self.src_embed = nn.Embedding(check_size("src_vocab_size", src_vocab_size), E, **kw)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, E, **kw)
        self.encoder = GRU(E, H, **kw)
        self.init = nn.Linear(H, H, **kw)                 # s_0 = tanh(W_init h_S + b_init)
        self.decoder = GRU(E + H, H, **kw)
        self.head = nn.Linear(2 * H, tgt_vocab_size, **kw)  # W_o [s_t; c_t] + b_o
        if attention:
            self.W_a = nn.Linear(H, H, bias=False, **kw)
            self.U_a = nn.Linear(H, H, **kw)
            self.v = nn.Linear(H, 1, bias=False, **kw)

    def encode(self, src: Tensor, src_len: Tensor) -> Memory:
        """Encode ``src`` (S, B) with lengths ``src_len`` (B,) (eq. ``s2s-enc``).

        Raises
        ------
        TypeError, ValueError
            If ``src_len`` does not fit ``src`` (see :func:`check_lengths`).
        """
        check_lengths(src, src_len)
        outputs, _ = self.encoder(self.src_embed(src))  # (S, B, H); right padding never reaches a valid step
        S, B = src.shape
        last = outputs[src_len.to(outputs.device) - 1, torch.arange(B, device=outputs.device)]  # h at each own last step (B, H)
        mask = torch.arange(S, device=src.device)[:, None] < src_len.to(src.device)[None]  # (S, B)
        keys = self.U_a(outputs) if self.attention else None  # U_a h_j, once per source   (S, B, H)
        return Memory(outputs, keys, mask, last)

    def start(self, memory: Memory) -> Tensor:
        """The decoder's first state :math:`s_0 = \\tanh(W_{init} h_S + b_{init})`, (B, H)."""
        return torch.tanh(self.init(memory.last))

    def attend(self, s_prev: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """Context ``c_t`` (B, H) and weights ``alpha_t`` (S, B), exactly 0 on padding (eq. ``s2s-att``)."""
        if memory.keys is None:
            return memory.last, torch.zeros(memory.mask.shape, dtype=memory.last.dtype, device=memory.last.device)  # c_t = h_S
        e = self.v(torch.tanh(self.W_a(s_prev)[None] + memory.keys)).squeeze(-1)  # e_tj = v^T tanh(W_a s + U_a h_j)  (S, B)
        e = e.masked_fill(~memory.mask, float("-inf"))                               # padding gets exp(-inf) = 0
        alpha = torch.softmax(e, dim=0)                                              # alpha_t = softmax_j(e_tj)
        return (alpha[..., None] * memory.outputs).sum(0), alpha                     # c_t = sum_j alpha_tj h_j

    def step(self, y_prev: Tensor, s_prev: Tensor, memory: Memory) -> tuple[Tensor, Tensor, Tensor]:
        """One decoder step (eq. ``s2s-dec``): ``y_prev`` (B,) ids -> logits (B, V), ``s_t`` (B, H), ``alpha_t`` (S, B)."""
        c, alpha = self.attend(s_prev, memory)
        x = torch.cat([self.tgt_embed(y_prev), c], dim=1)  # [emb(y_{t-1}); c_t]   (B, E + H)
        _, s_n = self.decoder(x[None], s_prev)             # s_t = GRU_dec(x, s_{t-1})
        s = s_n[0]                                         # final states come as (layers, B, H): one layer
        return self.head(torch.cat([s, c], dim=1)), s, alpha

    def forward(self, src: Tensor, src_len: Tensor, tgt: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing: the decoder reads ``<bos>, y_1, ..., y_{T-1}`` (the true targets).

        Returns the logits (T, B, V) and the attention weights (T, S, B) (zeros without attention).

        Raises
        ------
        ValueError
            If ``tgt`` (T, B) is longer than ``max_len`` or its batch differs from ``src``'s.
        """
        if not isinstance(tgt, Tensor) or tgt.dim() != 2 or tgt.dtype != torch.long:
            raise TypeError(f"tgt must be a (T, B) int64 tensor of token ids, got {given(tgt)}")
        if tgt.shape[0] > self.max_len:
            raise ValueError(f"tgt has {tgt.shape[0]} steps, longer than max_len={self.max_len}, the decoder's limit")
        if tgt.shape[1] != src.shape[1]:
            raise ValueError(f"tgt must have the batch size of src, {src.shape[1]}, got {tgt.shape[1]}")
        memory = self.encode(src, src_len)
        s = self.start(memory)
        y_in = torch.cat([torch.full_like(tgt[:1], BOS), tgt[:-1]])  # shifted right   (T, B)
        logits, weights = [], []
        for y_prev in y_in.unbind(0):
            a, s, alpha = self.step(y_prev, s, memory)
            logits.append(a)
            weights.append(alpha)
        return torch.stack(logits), torch.stack(weights)


def masked_loss(logits: Tensor, tgt: Tensor, tgt_len: Tensor) -> Tensor:
    """The mean cross-entropy over the valid target positions (``t < tgt_len``, ``<eos>`` included);
    padded positions are left out, not multiplied by zero."""
    T = tgt.shape[0]
    if tuple(tgt_len.shape) != (tgt.shape[1],):
        raise ValueError(f"tgt_len must have shape (B,) = ({tgt.shape[1]},), got {tuple(tgt_len.shape)}")
    mask = torch.arange(T, device=tgt.device)[:, None] < tgt_len.to(tgt.device)[None]  # (T, B)
    return F.cross_entropy(logits[mask], tgt[mask])


def seq2seq_loss(model: Seq2Seq, batch: Batch, carry: Any = None) -> tuple[Tensor, None]:
    """The loss for :func:`rnnbook.train.train`: teacher forcing and :func:`masked_loss` on a :class:`Batch`."""
    src, src_len, tgt, tgt_len = batch.to(next(model.parameters()).device)
    logits, _ = model(src, src_len, tgt)
    return masked_loss(logits, tgt, tgt_len), None


class DateBatches:
    """A :class:`rnnbook.train.BatchSource` of fresh :func:`random_dates` batches, seeded."""

    def __init__(self, batch_size: int, src_vocab: CharVocab, tgt_vocab: CharVocab, max_len: int, seed: int) -> None:
        self.batch_size, self.max_len = check_size("batch_size", batch_size), check_size("max_len", max_len)
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.rng = np.random.default_rng(check_int("seed", seed, minimum=0))

    def __iter__(self) -> DateBatches:
        return self

    def __next__(self) -> Batch:
        return make_batch(random_dates(self.batch_size, self.rng), self.src_vocab, self.tgt_vocab, self.max_len)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: Any) -> None:
        self.rng.bit_generator.state = state["rng"]


# --- decoding ------------------------------------------------------------------------------------

class Hypothesis(NamedTuple):
    """A decoded target: ``tokens`` (without ``<eos>``), its log-probability ``logprob`` (``<eos>``
    included when it was written), and ``score``, the log-probability over :func:`length_penalty`."""

    tokens: tuple[int, ...]
    logprob: float
    score: float


def length_penalty(length: int, alpha: float) -> float:
    """Wu et al. (2016)'s :math:`lp(Y) = ((5 + |Y|) / 6)^\\alpha`; ``alpha = 0`` gives 1 (raw log-probability)."""
    return ((5 + length) / 6) ** alpha


def _check_decode(model: Any, max_len: Any) -> int:
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a Seq2Seq, got {given(model)}")
    limit = model.max_len if max_len is None else check_size("max_len", max_len)
    if limit > model.max_len:
        raise ValueError(f"max_len must be at most the model's limit {model.max_len}, got {limit}")
    return limit


def _log_probs(logits: Tensor) -> Tensor:
    """Log-probabilities (full softmax) with ``<pad>`` and ``<bos>`` ruled out as outputs."""
    logp = torch.log_softmax(logits, dim=-1)
    logp[:, PAD] = logp[:, BOS] = float("-inf")
    return logp


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src: Tensor, src_len: Tensor, max_len: int | None = None) -> list[Hypothesis]:
    """The most likely next token at each step, for the whole batch at once, until ``<eos>`` or ``max_len`` steps.

    Each source keeps its own decoder state from its own encoding; a source that has finished is
    carried along but its tokens after ``<eos>`` are discarded.
    """
    limit = _check_decode(model, max_len)
    memory = model.encode(src, src_len)
    s = model.start(memory)
    B = src.shape[1]
    y = torch.full((B,), BOS, dtype=torch.long, device=s.device)
    steps, logps = [], []
    for _ in range(limit):
        logits, s, _ = model.step(y, s, memory)
        logp = _log_probs(logits)
        best, y = logp.max(dim=1)
        steps.append(y)
        logps.append(best)
        if bool((torch.stack(steps) == EOS).any(0).all()):
            break
    tokens, logp_steps = torch.stack(steps).T.tolist(), torch.stack(logps).T.tolist()
    out = []
    for row, lps in zip(tokens, logp_steps):
        n = row.index(EOS) + 1 if EOS in row else len(row)  # tokens written, <eos> included
        logprob = float(sum(lps[:n]))
        out.append(Hypothesis(tuple(row[:n - 1] if EOS in row else row), logprob, logprob))
    return out


@torch.no_grad()
def beam_search(model: Seq2Seq, src: Tensor, src_len: Tensor, beam: int, max_len: int | None = None,
                alpha: float = 0.0) -> list[Hypothesis]:
    """Beam search, one source at a time, each hypothesis with its own decoder state: the best
    hypothesis of :func:`beam_hypotheses` for each source.

    With ``beam=1`` it is :func:`greedy_decode`.

    Raises
    ------
    TypeError, ValueError
        As :func:`beam_hypotheses`.
    """
    return [finished[0] for finished in beam_hypotheses(model, src, src_len, beam, max_len, alpha)]


@torch.no_grad()
def beam_hypotheses(model: Seq2Seq, src: Tensor, src_len: Tensor, beam: int, max_len: int | None = None,
                    alpha: float = 0.0) -> list[list[Hypothesis]]:
    """Every hypothesis beam search finished, for each source, best first.

    At each step every live hypothesis is extended by every token; the ``beam`` best extensions by
    log-probability are kept, each taking the decoder state of the hypothesis it extends. One that
    writes ``<eos>`` is finished, and is ranked by its log-probability over :func:`length_penalty`
    of its length (``<eos>`` counted). The search stops when ``beam`` hypotheses have finished or
    after ``max_len`` steps (live ones are then finished as they are). A beam at least as wide as
    the number of possible outputs finishes every one of them.

    Raises
    ------
    TypeError, ValueError
        If ``beam`` is not a positive int (``beam=0`` is refused), ``alpha`` is not a number >= 0,
        ``max_len`` exceeds the model's limit, or ``src_len`` does not fit ``src``.
    """
    beam = check_size("beam", beam)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0 (0: no length normalisation), got {given(alpha)}")
    limit = _check_decode(model, max_len)
    memory = model.encode(src, src_len)
    return [_beam_one(model, memory.select(torch.tensor([b], device=src_len.device)), beam, limit, float(alpha))
            for b in range(src.shape[1])]


def _beam_one(model: Seq2Seq, memory: Memory, beam: int, limit: int, alpha: float) -> list[Hypothesis]:
    s = model.start(memory)                                    # one live hypothesis   (1, H)
    device = s.device
    tokens = torch.full((1, 0), BOS, dtype=torch.long, device=device)  # written so far   (k, t)
    logprob = torch.zeros(1, dtype=s.dtype, device=device)    # (k,)
    y = torch.full((1,), BOS, dtype=torch.long, device=device)
    finished: list[Hypothesis] = []
    for t in range(limit):
        k = tokens.shape[0]
        logits, s_new, _ = model.step(y, s, memory.select(torch.zeros(k, dtype=torch.long, device=device)))
        candidates = (logprob[:, None] + _log_probs(logits)).flatten()  # (k * V,)
        n = min(beam, int(torch.isfinite(candidates).sum()))
        top, index = candidates.topk(n)
        parent, word = index // logits.shape[1], index % logits.shape[1]
        done = word == EOS
        for lp, p in zip(top[done].tolist(), parent[done].tolist()):
            finished.append(Hypothesis(tuple(tokens[p].tolist()), lp, lp / length_penalty(t + 1, alpha)))
        live = ~done
        if len(finished) >= beam or not bool(live.any()):
            break
        tokens = torch.cat([tokens[parent[live]], word[live, None]], dim=1)
        logprob, y, s = top[live], word[live], s_new[parent[live]]  # each hypothesis takes its parent's state
    else:
        for row, lp in zip(tokens.tolist(), logprob.tolist()):  # out of steps: finished as they are
            finished.append(Hypothesis(tuple(row), lp, lp / length_penalty(limit, alpha)))
    return sorted(finished, key=lambda h: -h.score)  # stable: among equal scores, the first finished first


def exact_match(hypotheses: list[Hypothesis], targets: list[str], vocab: CharVocab) -> float:
    """The fraction of hypotheses whose text equals its target exactly."""
    if len(hypotheses) != len(targets):
        raise ValueError(f"targets must have one entry per hypothesis ({len(hypotheses)}), got {len(targets)}")
    return float(np.mean([vocab.decode(h.tokens) == t for h, t in zip(hypotheses, targets)]))
