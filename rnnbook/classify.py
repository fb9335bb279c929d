"""Sequence classification (chapter 9): the language of a word, from its characters.

- :func:`language_zipf` reads the word lists that the ``wordfreq`` package ships inside its wheel
  (nothing is downloaded): each word form of each language with its Zipf frequency.
- :func:`assign_languages` gives a word form the language where it is most frequent, if it is at
  least ``10 ** margin`` times as frequent there as in any other language; the others are *shared*
  (``de``, ``in``, ``paris``) and are set aside, since they have no single right answer.
- :func:`build_dataset` draws a seeded number of words per language and splits each language's
  words into train, validation and test (stratified; a word form is in exactly one split).
- :class:`CharVocabulary` numbers characters (0 pads, 1 is an unknown character), :func:`pad_batch`
  pads a list of id sequences into a time-major ``(T, B)`` batch with its ``lengths``, and
  :class:`WordBatches` draws training batches, uniformly or balanced over the classes.
- :class:`NaiveBayes` is the baseline: multinomial naive Bayes over character n-grams with
  Laplace smoothing; :func:`confusion_matrix` and :func:`scores` give accuracy, per-class recall,
  precision and F1, and macro-F1.

Nothing here needs torch; the model is :class:`rnnbook.torch.classify.SequenceClassifier`.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from rnnbook.checks import check_bool, check_int, check_positive, check_size, given

#: The seven languages of chapter 9, all written in the Latin alphabet.
LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl")


def _check_words(name: str, words: Any) -> tuple[str, ...]:
    if isinstance(words, str) or not isinstance(words, Sequence):
        raise TypeError(f"{name} must be a sequence (list or tuple) of str, got {given(words)}")
    bad = next((w for w in words if not isinstance(w, str) or not w), None)
    if bad is not None:
        raise ValueError(f"{name} must hold non-empty str, got {bad!r}")
    return tuple(words)


def _check_labels(labels: Any, n: int, num_classes: int) -> np.ndarray:
    array = np.asarray(labels)
    if array.shape != (n,) or (n and array.dtype.kind not in "iu"):
        raise TypeError(f"labels must be {n} integer class ids, shape ({n},), got {given(labels)}")
    if n and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}), got values from {array.min()} to {array.max()}")
    return array.astype(np.int64)


@functools.lru_cache(maxsize=None)
def _is_letter(c: str, script: str | None) -> bool:
    return c.isalpha() and (script is None or unicodedata.name(c, "").startswith(script + " "))


def language_zipf(languages: Sequence[str] = LANGUAGES, *, wordlist: str = "small", min_length: int = 2,
                  max_length: int = 20, script: str | None = "LATIN") -> dict[str, dict[str, float]]:
    """Each language's word forms and their Zipf frequencies, from ``wordfreq``'s bundled lists.

    The Zipf frequency is :math:`\\log_{10}` of the occurrences per billion words (3 = once per
    million). wordfreq stores its lists as buckets of words of equal frequency, bucket ``i`` at
    :math:`10^{-i/100}` (``-i`` centibels), so the Zipf frequency of bucket ``i`` is ``9 - i / 100``.
    Words are put in Unicode NFC; kept are those of ``min_length`` to ``max_length`` characters,
    all of them letters of ``script`` (their Unicode names start with it; None: any letters).

    Raises
    ------
    ImportError
        If wordfreq is not installed (``pip install wordfreq==3.1.1``).
    TypeError, ValueError
        If ``languages`` is not a non-empty sequence of distinct language codes that wordfreq has
        a ``wordlist`` for (the message lists them), or a length is not a positive int.
    """
    try:
        import wordfreq
    except ImportError as err:
        raise ImportError("language_zipf needs wordfreq: pip install wordfreq==3.1.1") from err
    if isinstance(languages, str) or not isinstance(languages, Sequence) or not languages:
        raise TypeError(f"languages must be a non-empty sequence of language codes, got {given(languages)}")
    available = set(wordfreq.available_languages(wordlist))  # refuses an unknown wordlist itself
    unknown = [lang for lang in languages if lang not in available]
    if unknown or len(set(languages)) != len(languages):
        raise ValueError(f"languages must be distinct codes with a {wordlist!r} word list; "
                         f"{unknown or 'duplicates'} given, available: {sorted(available)}")
    min_length, max_length = check_size("min_length", min_length), check_size("max_length", max_length)
    return {lang: dict(_read_list(lang, wordlist, min_length, max_length, script)) for lang in languages}


@functools.lru_cache(maxsize=32)  # a pure function of the pinned package's data: read each list once
def _read_list(lang: str, wordlist: str, min_length: int, max_length: int,
               script: str | None) -> tuple[tuple[str, float], ...]:
    import wordfreq

    ours: dict[str, float] = {}
    for i, bucket in enumerate(wordfreq.get_frequency_list(lang, wordlist)):
        for word in bucket:
            word = unicodedata.normalize("NFC", word)
            if min_length <= len(word) <= max_length and all(_is_letter(c, script) for c in word):
                ours.setdefault(word, 9 - i / 100)  # buckets come most frequent first
    return tuple(ours.items())


def assign_languages(zipf: Mapping[str, Mapping[str, float]],
                     margin: float = 1.0) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """One language per word form, or the form set aside as shared.

    A form listed in one language belongs to it. A form listed in several belongs to the one
    where its Zipf frequency is highest if that exceeds every other by at least ``margin`` (1.0:
    ten times as frequent); otherwise it is *shared*, with every language within ``margin`` of the
    highest (most frequent first). ``the`` is English (7.73, against at most 5.99 elsewhere);
    ``de`` is shared by French, Spanish, Portuguese and Dutch.

    Returns
    -------
    language_of : dict of word to language
    shared : dict of word to tuple of languages

    Raises
    ------
    TypeError, ValueError
        If ``zipf`` is not a mapping of language to a mapping of word to frequency, or ``margin``
        is not positive.
    """
    if not isinstance(zipf, Mapping) or not all(isinstance(v, Mapping) for v in zipf.values()):
        raise TypeError(f"zipf must map each language to a dict of word -> Zipf frequency, got {given(zipf)}")
    margin = check_positive("margin", margin)
    by_word: dict[str, list[tuple[float, str]]] = {}
    for lang, table in zipf.items():
        for word, z in table.items():
            by_word.setdefault(word, []).append((float(z), lang))
    language_of, shared = {}, {}
    for word in sorted(by_word):
        ranked = sorted(by_word[word], key=lambda zl: -zl[0])  # stable: ties keep the languages' order
        if len(ranked) == 1 or ranked[0][0] - ranked[1][0] >= margin:
            language_of[word] = ranked[0][1]
        else:
            shared[word] = tuple(lang for z, lang in ranked if ranked[0][0] - z < margin)
    return language_of, shared


@dataclass(frozen=True)
class Split:
    """One part of a :class:`WordDataset`: words and their class ids, ``labels`` (N,) int64
    (indices into ``languages``)."""

    words: tuple[str, ...]
    labels: np.ndarray


@dataclass(frozen=True)
class WordDataset:
    """Words labelled by language, split three ways; ``shared`` holds the forms set aside and
    ``available`` how many words each language had to draw from."""

    languages: tuple[str, ...]
    train: Split
    validation: Split
    test: Split
    shared: Mapping[str, tuple[str, ...]] = field(repr=False)
    available: Mapping[str, int]


def build_dataset(sizes: Mapping[str, int], seed: int, *, fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
                  margin: float = 1.0, **lists: Any) -> WordDataset:
    """Draw ``sizes[lang]`` words of each language and split them into train, validation and test.

    The words of each language are those :func:`assign_languages` gives it (shared forms are
    out), from :func:`language_zipf` (``lists`` are its keyword arguments). From each language's
    words, sorted, ``sizes[lang]`` are drawn without replacement with ``numpy.random.default_rng(seed)``
    and cut by ``fractions`` (stratified: each split has the languages in the same proportions);
    each split is then shuffled. A word form is in one split only, with one label. The class ids
    follow the order of ``sizes``.

    Raises
    ------
    TypeError, ValueError
        If ``sizes`` is not a non-empty mapping of language to an int >= 3, a language has fewer
        words than asked (the message says how many it has), ``fractions`` are not three positive
        numbers summing to 1, or a split would get no word of some language.
    """
    if not isinstance(sizes, Mapping) or not sizes:
        raise TypeError(f"sizes must be a non-empty dict of language -> number of words, got {given(sizes)}")
    counts = {lang: check_int(f"sizes[{lang!r}]", n, minimum=3) for lang, n in sizes.items()}
    seed = check_int("seed", seed, minimum=0)
    if not isinstance(fractions, (tuple, list)) or len(fractions) != 3:
        raise TypeError(f"fractions must be three numbers (train, validation, test), got {given(fractions)}")
    fracs = [check_positive(f"fractions[{k}]", f) for k, f in enumerate(fractions)]
    if abs(sum(fracs) - 1) > 1e-9:
        raise ValueError(f"fractions must sum to 1, got {tuple(fractions)} (sum {sum(fracs):.6g})")
    languages = tuple(counts)
    language_of, shared = assign_languages(language_zipf(languages, **lists), margin)
    pools: dict[str, list[str]] = {lang: [] for lang in languages}
    for word, lang in language_of.items():  # sorted by word
        pools[lang].append(word)
    rng = np.random.default_rng(seed)
    parts: list[list[tuple[str, int]]] = [[], [], []]
    for label, lang in enumerate(languages):
        n, pool = counts[lang], pools[lang]
        if n > len(pool):
            raise ValueError(f"sizes[{lang!r}] = {n}, but {lang!r} has only {len(pool)} words of its own")
        chosen = [pool[i] for i in rng.choice(len(pool), size=n, replace=False)]
        n_val, n_test = round(n * fracs[1]), round(n * fracs[2])
        if min(n_val, n_test, n - n_val - n_test) < 1:
            raise ValueError(f"sizes[{lang!r}] = {n} is too small for fractions {tuple(fractions)}: a split gets no word")
        cuts = (chosen[:n - n_val - n_test], chosen[n - n_val - n_test:n - n_test], chosen[n - n_test:])
        for part, words in zip(parts, cuts):
            part.extend((w, label) for w in words)
    splits = []
    for part in parts:
        order = rng.permutation(len(part))
        splits.append(Split(tuple(part[i][0] for i in order), np.array([part[i][1] for i in order], dtype=np.int64)))
    return WordDataset(languages, splits[0], splits[1], splits[2], shared=shared, available={lang: len(pools[lang]) for lang in languages})


@dataclass(frozen=True)
class CharVocabulary:
    """Characters numbered in sorted code-point order after two reserved ids: ``PAD`` (0) fills
    the steps after a word's end, ``UNK`` (1) stands for a character never seen in training."""

    chars: tuple[str, ...]
    PAD: ClassVar[int] = 0
    UNK: ClassVar[int] = 1
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.chars, tuple) or not all(isinstance(c, str) and len(c) == 1 for c in self.chars):
            raise TypeError(f"chars must be a tuple of single characters, got {given(self.chars)}")
        if list(self.chars) != sorted(set(self.chars)):
            raise ValueError("chars must be distinct and sorted by code point (use CharVocabulary.from_words)")
        object.__setattr__(self, "_ids", {c: i + 2 for i, c in enumerate(self.chars)})

    @classmethod
    def from_words(cls, words: Sequence[str]) -> CharVocabulary:
        """The characters of ``words`` (the training words: test words may hold unseen ones)."""
        return cls(tuple(sorted(set("".join(_check_words("words", words))))))

    def __len__(self) -> int:
        return len(self.chars) + 2

    def encode(self, word: str) -> np.ndarray:
        """The ids of ``word``'s characters, shape ``(len(word),)``, int64; unknown ones are ``UNK``.

        Raises
        ------
        TypeError, ValueError
            If ``word`` is not a str, or is empty (a word needs at least one step).
        """
        if not isinstance(word, str):
            raise TypeError(f"word must be a str, got {given(word)}")
        if not word:
            raise ValueError("word must not be empty: a word needs at least one character")
        return np.array([self._ids.get(c, self.UNK) for c in word], dtype=np.int64)

    def decode(self, ids: Any) -> str:
        """The characters of ``ids`` (``PAD`` skipped, ``UNK`` shown as U+FFFD)."""
        table = ("", "\ufffd", *self.chars)
        return "".join(table[int(i)] for i in np.asarray(ids).reshape(-1))


def pad_batch(sequences: Sequence[np.ndarray], pad_id: int = CharVocabulary.PAD) -> tuple[np.ndarray, np.ndarray]:
    """Pad 1-D id sequences into a time-major batch.

    Returns
    -------
    X : ndarray, shape (T, B), int64
        ``X[t, b]`` is step ``t`` of sequence ``b``, or ``pad_id`` for ``t >= lengths[b]``;
        ``T = max(lengths)``.
    lengths : ndarray, shape (B,), int64

    Raises
    ------
    TypeError, ValueError
        If ``sequences`` is empty, or one of them is not a non-empty 1-D integer array.
    """
    if isinstance(sequences, np.ndarray) or not isinstance(sequences, Sequence) or len(sequences) == 0:
        raise TypeError(f"sequences must be a non-empty list of 1-D integer arrays, got {given(sequences)}")
    arrays = [np.asarray(s) for s in sequences]
    for b, a in enumerate(arrays):
        if a.ndim != 1 or a.dtype.kind not in "iu":
            raise TypeError(f"sequences[{b}] must be a 1-D integer array of ids, got {given(sequences[b])}")
        if a.size == 0:
            raise ValueError(f"sequences[{b}] is empty: every sequence needs at least one step "
                             f"(its last valid state is what the classifier reads)")
    lengths = np.array([a.size for a in arrays], dtype=np.int64)
    X = np.full((int(lengths.max()), len(arrays)), check_int("pad_id", pad_id, minimum=0), dtype=np.int64)
    for b, a in enumerate(arrays):
        X[:a.size, b] = a  # column b: the sequence, then padding   (T, B)
    return X, lengths


class WordBatches:
    """A :class:`rnnbook.train.BatchSource` of ``(X (T, B), lengths (B,), labels (B,))`` for training.

    Each batch draws ``batch_size`` sequences with replacement with a generator seeded by
    ``seed``: uniformly (``balanced=False``: each class as often as it is in the data), or a
    class uniformly and then a sequence of it (``balanced=True``: every class equally often).
    """

    def __init__(self, sequences: Sequence[np.ndarray], labels: Any, batch_size: int, seed: int, *,
                 num_classes: int, balanced: bool = False) -> None:
        if isinstance(sequences, np.ndarray) or not isinstance(sequences, Sequence) or len(sequences) == 0:
            raise TypeError(f"sequences must be a non-empty list of 1-D integer arrays, got {given(sequences)}")
        self.sequences = list(sequences)
        self.num_classes = check_size("num_classes", num_classes)
        self.labels = _check_labels(labels, len(self.sequences), self.num_classes)
        self.batch_size = check_size("batch_size", batch_size)
        self.balanced = check_bool("balanced", balanced)
        self.members = [np.flatnonzero(self.labels == c) for c in range(self.num_classes)]
        if self.balanced and any(m.size == 0 for m in self.members):
            raise ValueError("balanced=True needs every class in the data; class(es) "
                             f"{[c for c, m in enumerate(self.members) if m.size == 0]} have no sequence")
        self.rng = np.random.default_rng(check_int("seed", seed, minimum=0))

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.balanced:
            classes = self.rng.integers(self.num_classes, size=self.batch_size)
            idx = np.array([m[self.rng.integers(m.size)] for m in (self.members[c] for c in classes)])
        else:
            idx = self.rng.integers(len(self.sequences), size=self.batch_size)
        X, lengths = pad_batch([self.sequences[i] for i in idx])
        return X, lengths, self.labels[idx]

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]


def char_ngrams(word: str, orders: Sequence[int] = (1, 2, 3)) -> list[str]:
    """The character n-grams of ``<word>`` for each n in ``orders`` (``<`` and ``>`` mark the ends)."""
    marked = f"<{word}>"
    return [marked[i:i + n] for n in orders for i in range(len(marked) - n + 1)]


class NaiveBayes:
    """Multinomial naive Bayes over character n-grams, with Laplace smoothing.

    A word is the bag of its n-grams :math:`g` (counts :math:`n_g`); the class score is

    .. math::  \\log \\pi_c + \\sum_g n_g \\log \\theta_{cg}, \\qquad
               \\theta_{cg} = \\frac{N_{cg} + \\alpha}{\\sum_{g'} N_{cg'} + \\alpha |F|},

    with :math:`N_{cg}` the count of :math:`g` in class :math:`c`'s training words and :math:`F`
    the n-grams seen in training (others are skipped). ``prior="empirical"`` takes :math:`\\pi_c`
    as the classes' shares of the training words, ``"uniform"`` as :math:`1/C`.

    Raises
    ------
    TypeError, ValueError
        If ``orders`` are not positive ints, ``alpha`` is not positive, or ``prior`` is another word.
    """

    def __init__(self, orders: Sequence[int] = (1, 2, 3), alpha: float = 1.0, prior: str = "empirical") -> None:
        if isinstance(orders, (str, int)) or not isinstance(orders, Sequence) or not orders:
            raise TypeError(f"orders must be a non-empty sequence of n-gram lengths, got {given(orders)}")
        self.orders = tuple(check_size(f"orders[{k}]", n) for k, n in enumerate(orders))
        self.alpha = check_positive("alpha", alpha)
        if prior not in ("empirical", "uniform"):
            raise ValueError(f"prior must be 'empirical' or 'uniform', got {prior!r}")
        self.prior = prior
        self.features: dict[str, int] = {}
        self.log_theta: np.ndarray | None = None  # (C, F)
        self.log_prior: np.ndarray | None = None  # (C,)

    def fit(self, words: Sequence[str], labels: Any, num_classes: int) -> NaiveBayes:
        """Count the n-grams of each class's training words; return ``self``."""
        words = _check_words("words", words)
        C = check_size("num_classes", num_classes)
        labels = _check_labels(labels, len(words), C)
        rows, cols = [], []
        for word, c in zip(words, labels):
            for g in char_ngrams(word, self.orders):
                rows.append(c)
                cols.append(self.features.setdefault(g, len(self.features)))
        N = np.zeros((C, len(self.features)))
        np.add.at(N, (np.array(rows), np.array(cols)), 1.0)  # N_cg
        F = N.shape[1]
        self.log_theta = np.log(N + self.alpha) - np.log(N.sum(axis=1, keepdims=True) + self.alpha * F)
        share = np.bincount(labels, minlength=C) / len(labels)
        self.log_prior = np.log(share) if self.prior == "empirical" else np.full(C, -np.log(C))
        return self

    def log_joint(self, words: Sequence[str]) -> np.ndarray:
        """``(N, C)``: :math:`\\log \\pi_c + \\sum_g n_g \\log \\theta_{cg}` for each word and class."""
        if self.log_theta is None or self.log_prior is None:
            raise ValueError("this NaiveBayes is not fitted yet: call fit(words, labels, num_classes) first")
        words = _check_words("words", words)
        scores = np.tile(self.log_prior, (len(words), 1))
        rows, cols = [], []
        for i, word in enumerate(words):
            for g in char_ngrams(word, self.orders):
                if g in self.features:  # an n-gram never seen in training carries no evidence
                    rows.append(i)
                    cols.append(self.features[g])
        np.add.at(scores, np.array(rows, dtype=np.int64), self.log_theta[:, np.array(cols, dtype=np.int64)].T)
        return scores

    def predict(self, words: Sequence[str]) -> np.ndarray:
        """The class with the highest score for each word, ``(N,)`` int64."""
        return self.log_joint(words).argmax(axis=1)


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """``(C, C)`` counts: row = true class, column = predicted class.

    Raises
    ------
    TypeError, ValueError
        If the two are not integer arrays of the same shape ``(N,)`` with ids in ``[0, C)``.
    """
    C = check_size("num_classes", num_classes)
    y_true = _check_labels(y_true, np.asarray(y_true).size, C)
    y_pred = _check_labels(y_pred, y_true.size, C)
    return np.bincount(y_true * C + y_pred, minlength=C * C).reshape(C, C)


@dataclass(frozen=True)
class Scores:
    """What a confusion matrix says: accuracy, per-class recall, precision and F1 (arrays (C,)), and
    macro-F1, the mean of the classes' F1 (each class counts the same, however many words it has)."""

    accuracy: float
    macro_f1: float
    recall: np.ndarray
    precision: np.ndarray
    f1: np.ndarray


def scores(confusion: Any) -> Scores:
    """The :class:`Scores` of a confusion matrix (rows true, columns predicted).

    Recall of class c is the share of its words predicted c; precision is the share of the words
    predicted c that are c (0 if none is predicted c); F1 is their harmonic mean (0 if both are 0).

    Raises
    ------
    TypeError, ValueError
        If ``confusion`` is not a square matrix of non-negative integer counts, or a class has no
        words (its recall, and so macro-F1, would be undefined).
    """
    M = np.asarray(confusion)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.dtype.kind not in "iu" or (M < 0).any():
        raise TypeError(f"confusion must be a square matrix of counts (C, C), got {given(confusion)}")
    support, predicted, hits = M.sum(axis=1), M.sum(axis=0), np.diag(M).astype(float)
    if (support == 0).any():
        raise ValueError(f"every class needs at least one true example; class(es) {np.flatnonzero(support == 0).tolist()} "
                         "have none, so their recall is undefined")
    recall = hits / support
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    total = recall + precision
    f1 = np.divide(2 * recall * precision, total, out=np.zeros_like(hits), where=total > 0)
    return Scores(float(hits.sum() / M.sum()), float(f1.mean()), recall, precision, f1)
