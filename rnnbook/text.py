"""Text for character-level language models: a corpus, a vocabulary, splits and batches (chapter 5).

- :func:`pydoc_corpus` is a corpus every machine has offline: the documentation topics that
  CPython ships in its standard library (``pydoc_data.topics``, what ``help("if")`` prints),
  joined in sorted order and normalised. :func:`load_text` reads any UTF-8 text file, and
  :func:`download` fetches a classic public-domain corpus (Tiny Shakespeare) for online readers:
  checksum-verified, cached, and written atomically, so a failed or corrupt download leaves nothing.
- :class:`Vocabulary` numbers the characters in sorted code-point order, so the numbering is the
  same in every process (``list(set(text))`` is not: string hashing is salted per process).
- :func:`split` cuts the ids by position (train, validation, test), :class:`StreamBatcher` deals
  consecutive chunks of B parallel streams (stateful truncated BPTT: the hidden state is carried
  from one chunk to the next), and :func:`random_windows` draws independent windows (the state is
  reset every batch). Batches are time-major ``(T, B)`` integer arrays, like the layers' inputs.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from rnnbook.checks import check_int, check_positive, check_rng, check_size, given

#: Where :func:`tiny_shakespeare` downloads the corpus from (online readers only; the tests use a loopback server).
TINY_SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
#: The SHA-256 of that file (1,115,394 bytes); a download that does not match is refused.
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"  # 1,115,394 bytes

# Typographic punctuation in the pydoc topics, written the plain ASCII way (a smaller vocabulary).
_PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "--", "\u2026": "...", "\u00a0": " "})


class DownloadError(OSError):
    """A download that failed (network, HTTP status) or whose checksum did not match."""


def normalize(text: str) -> str:
    """Unicode NFC, typographic quotes and dashes as ASCII, no trailing spaces, ``\\n`` line ends."""
    text = unicodedata.normalize("NFC", text).translate(_PLAIN)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def pydoc_corpus() -> str:
    """The documentation topics CPython ships (``pydoc_data.topics``), normalised: an offline corpus.

    About half a million characters of English prose and code on every Python installation
    (465,109 characters, 96 of them distinct, in CPython 3.11.7; the text changes slightly between
    Python versions). Topics are joined in sorted key order, separated by a blank line, then
    passed through :func:`normalize`.
    """
    from pydoc_data.topics import topics  # the standard library's own documentation text

    return normalize("\n\n".join(topics[key].strip("\n") for key in sorted(topics)) + "\n")


def load_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """The text of the file at ``path`` (any Unicode; ``\\r\\n`` and ``\\r`` line ends become ``\\n``).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is empty, or is not valid text in ``encoding`` (the message gives the byte offset).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not valid {encoding} text: {err.reason} at byte {err.start}") from None
    if not text:
        raise ValueError(f"{path} is empty: a corpus needs at least one character")
    return text


def default_cache_dir() -> Path:
    """Where downloads are kept: ``$XDG_CACHE_HOME/rnnbook`` (``~/.cache/rnnbook``; ``%LOCALAPPDATA%`` on Windows)."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "rnnbook" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnnbook"


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, sha256: str, cache_dir: str | os.PathLike[str] | None = None,
             filename: str | None = None, timeout: float = 30.0) -> Path:
    """The path of a verified copy of ``url`` in ``cache_dir``, downloading it only if needed.

    A cached file whose SHA-256 is ``sha256`` is returned as it is (no network). Otherwise the file
    is downloaded into a temporary file in ``cache_dir``, its digest checked, and only then renamed
    to its final name (an atomic rename): an interrupted, failed or corrupt download never leaves a
    file under the final name, and its temporary file is removed.

    Parameters
    ----------
    url : str
    sha256 : str
        The expected SHA-256 hex digest (64 hex digits) of the file's bytes.
    cache_dir : path, optional
        Default :func:`default_cache_dir`. Created if missing.
    filename : str, optional
        Default: the last part of the URL's path.
    timeout : float, default 30
        Seconds to wait for the server.

    Raises
    ------
    DownloadError
        If the download fails (the message names the URL and the reason), or the bytes received
        do not have the expected digest (the message gives both digests).
    ValueError
        If ``sha256`` is not 64 hex digits, or no file name can be derived.
    """
    if not isinstance(sha256, str) or len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256.lower()):
        raise ValueError(f"sha256 must be a SHA-256 hex digest (64 hex digits), got {given(sha256)}")
    timeout = check_positive("timeout", timeout)
    name = filename if filename is not None else PurePosixPath(urllib.parse.urlparse(url).path).name
    if not name or name in (".", ".."):
        raise ValueError(f"filename must be given: none can be derived from url {url!r}")
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = folder / name
    if target.is_file() and sha256_of(target) == sha256.lower():
        return target  # cached and verified
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    expected, received = response.headers.get("Content-Length"), 0
                    for block in iter(lambda: response.read(1 << 16), b""):
                        digest.update(block)
                        out.write(block)
                        received += len(block)
                    if expected is not None and expected.isdigit() and received != int(expected):
                        raise OSError(f"the connection closed after {received} of {expected} bytes")
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
                raise DownloadError(f"downloading {url} failed: {err}") from err
        if digest.hexdigest() != sha256.lower():
            raise DownloadError(f"{url} has the wrong checksum: expected sha256 {sha256.lower()}, "
                                f"got {digest.hexdigest()} (nothing was saved)")
        os.replace(tmp, target)  # atomic: the final name appears only for a verified file
    finally:
        tmp.unlink(missing_ok=True)
    return target


def tiny_shakespeare(cache_dir: str | os.PathLike[str] | None = None, url: str = TINY_SHAKESPEARE_URL) -> str:
    """Tiny Shakespeare (Karpathy's char-rnn corpus, about 1.1 million characters), downloaded once and verified.

    Needs the network on first use; see :func:`download` for the cache and the errors.
    """
    return load_text(download(url, TINY_SHAKESPEARE_SHA256, cache_dir, filename="tinyshakespeare.txt"))


def _check_text(name: str, text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {given(text)}")
    return text


@dataclass(frozen=True)
class Vocabulary:
    """The characters of a text numbered in sorted code-point order: the same ids in every process.

    ``chars[i]`` is the character with id ``i``. Build one with :meth:`from_text`.
    """

    chars: tuple[str, ...]
    _codes: np.ndarray = field(init=False, repr=False, compare=False)  # the sorted code points, for encode

    def __post_init__(self) -> None:
        if not isinstance(self.chars, tuple) or not all(isinstance(c, str) and len(c) == 1 for c in self.chars):
            raise TypeError(f"chars must be a tuple of single characters, got {given(self.chars)}")
        if not self.chars:
            raise ValueError("chars must not be empty: a vocabulary needs at least one character")
        if list(self.chars) != sorted(set(self.chars)):
            raise ValueError("chars must be distinct and sorted by code point (use Vocabulary.from_text)")
        object.__setattr__(self, "_codes", np.array([ord(c) for c in self.chars], dtype=np.uint32))

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        """The vocabulary of ``text``: ``sorted(set(text))``, never ``list(set(text))``.

        Raises
        ------
        TypeError, ValueError
            If ``text`` is not a str, or is empty.
        """
        if not _check_text("text", text):
            raise ValueError("text must not be empty: a vocabulary needs at least one character")
        return cls(tuple(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text``'s characters, shape ``(len(text),)``, dtype int64.

        Raises
        ------
        ValueError
            If ``text`` has characters outside the vocabulary (the message lists them and where
            the first one is).
        """
        codes = np.frombuffer(_check_text("text", text).encode("utf-32-le"), dtype=np.uint32)
        known = self._codes
        ids = np.minimum(np.searchsorted(known, codes), len(known) - 1)
        bad = known[ids] != codes
        if bad.any():
            unknown = sorted({chr(c) for c in codes[bad]})
            raise ValueError(f"text has {len(unknown)} character(s) not in the vocabulary: "
                             f"{''.join(unknown[:20])!r}{'...' if len(unknown) > 20 else ''} (first at "
                             f"index {int(np.argmax(bad))}); build the vocabulary from the training text "
                             f"and encode only text with those characters")
        return ids.astype(np.int64)

    def decode(self, ids: Any) -> str:
        """The text of a sequence of ids (a list, a 1-D array or tensor of ints in ``[0, len(self))``).

        Raises
        ------
        TypeError, ValueError
            If ``ids`` is not a 1-D sequence of integers, or an id is out of range.
        """
        array = np.asarray(ids.cpu() if hasattr(ids, "cpu") else ids)
        if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
            raise TypeError(f"ids must be a 1-D sequence of ints, got {given(ids)}")
        if array.size and (array.min() < 0 or array.max() >= len(self)):
            raise ValueError(f"ids must be in [0, {len(self) - 1}], got values in [{array.min()}, {array.max()}]")
        return "".join(self.chars[i] for i in array.tolist())


def _check_ids(ids: Any, name: str = "ids") -> np.ndarray:
    array = np.asarray(ids)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be a 1-D integer array (from Vocabulary.encode), got {given(ids)}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty")
    return array


def split(ids: Any, fractions: tuple[float, float, float] = (0.9, 0.05, 0.05)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut ``ids`` by position into train, validation and test parts (the first 90 %, the next 5 %, the last 5 %).

    By position, not by shuffling characters or windows: the held-out parts are text the model
    has never seen, not overlapping neighbours of training windows.

    Raises
    ------
    ValueError
        If the fractions are not three positive numbers summing to 1, or a part would be shorter
        than 2 characters (one input and one target).
    """
    array = _check_ids(ids)
    if len(fractions) != 3 or not np.isclose(sum(check_positive("fractions", f) for f in fractions), 1.0):
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    n = len(array)
    cut1 = int(round(n * fractions[0]))
    cut2 = int(round(n * (fractions[0] + fractions[1])))
    parts = array[:cut1], array[cut1:cut2], array[cut2:]
    if min(len(p) for p in parts) < 2:
        raise ValueError(f"ids of length {n} is too short to split by {fractions}: every part needs at least 2 ids, "
                         f"got parts of {[len(p) for p in parts]}")
    return parts


def _check_batch_shape(n: int, batch_size: Any, chunk_len: Any) -> tuple[int, int]:
    B, T = check_size("batch_size", batch_size), check_size("chunk_len", chunk_len)
    if T + 1 > n:
        raise ValueError(f"chunk_len must be smaller than the data: {T} + 1 (inputs and the shifted targets) "
                         f"> {n} ids")
    if B > n - 1:
        raise ValueError(f"batch_size must be at most the number of ids minus one ({n - 1}), got {B}")
    return B, T


class StreamBatcher:
    """Consecutive chunks of ``B`` parallel streams, for stateful truncated BPTT.

    The ids are cut into ``B`` contiguous streams of equal length ``L = (len(ids) - 1) // B``;
    stream ``b`` reads ``ids[b L : (b + 1) L + 1]``. Batch ``k`` is the ``k``-th chunk of ``T``
    steps of every stream, so row ``b`` of batch ``k + 1`` continues row ``b`` of batch ``k``
    exactly: the final hidden state of one batch is the right initial state for the next (detach it,
    so backpropagation stops at the chunk boundary). After the last full chunk the streams start
    over: every batch comes with ``reset``, True for the first chunk of each pass, so that the
    caller zeroes the state there (:func:`rnnbook.torch.charlm.lm_loss` does, given the triple
    ``(x, y, reset)`` that iterating yields).

    Parameters
    ----------
    ids : 1-D int array
    batch_size : int
        B, the number of parallel streams.
    chunk_len : int
        T, the steps of one chunk (the truncation length of BPTT).
    device : torch.device or str, optional
        If given, iterating yields torch int64 tensors on it (for :func:`rnnbook.train.train`);
        otherwise NumPy arrays.
    rank, world_size : int, default 0 and 1
        For data-parallel training (chapter 13): ``batch_size`` is then the *global* number of
        streams ``B``, and this process (``rank`` of ``world_size``) deals only its contiguous block of
        ``B / world_size`` streams, ``rnnbook.distributed.shard(B, rank, world_size)``: rows
        ``rank B/N`` to ``(rank + 1) B/N`` of every one-process batch. Each stream stays with one
        rank, so its carried state never crosses processes. The position (:meth:`state_dict`) is
        the same on every rank and for every ``world_size``: a checkpoint resumes on any number of
        processes.

    Raises
    ------
    TypeError, ValueError
        If ``ids`` is not a non-empty 1-D integer array, ``batch_size`` or ``chunk_len`` is not a
        positive int, or either is too large for the data (each stream needs one full chunk and
        its shifted target: ``B (T + 1) - (B - 1) <= len(ids)``); if ``world_size`` does not divide
        ``batch_size`` or ``rank`` is not in ``[0, world_size)``.
    """

    def __init__(self, ids: Any, batch_size: int, chunk_len: int, device: Any = None, *, rank: int = 0,
                 world_size: int = 1) -> None:
        array = _check_ids(ids)
        B, T = _check_batch_shape(len(array), batch_size, chunk_len)
        world_size = check_size("world_size", world_size)
        rank = check_int("rank", rank, 0, world_size - 1)
        if B % world_size:
            raise ValueError(f"batch_size must be divisible by world_size={world_size} (every rank gets the same "
                             f"number of streams), got {B}")
        L = (len(array) - 1) // B
        if L < T:
            raise ValueError(f"batch_size * chunk_len is larger than the data: {B} streams of {len(array)} ids "
                             f"have {L} steps each, fewer than chunk_len={T}")
        self.batch_size, self.chunk_len = B, T
        self.rank, self.world_size = rank, world_size
        rows = range(rank * (B // world_size), (rank + 1) * (B // world_size))  # this rank's contiguous block
        # streams (B / world_size, L + 1): the inputs and, shifted by one, the targets
        self.streams = np.stack([array[b * L: (b + 1) * L + 1] for b in rows])
        self.chunks_per_epoch = L // T
        self.position = 0  # the next chunk to deal, in [0, chunks_per_epoch)
        self.epoch = 0
        self.device = device

    def __iter__(self) -> StreamBatcher:
        return self

    def one_pass(self) -> list[tuple[Any, Any]]:
        """Every chunk of one pass, from the first, as a list of ``(x, y)`` (what evaluation iterates over).

        Iterating the batcher itself never ends (the streams start over); this list does, and it
        can be iterated again. Within one pass the state is carried throughout, so the pairs need
        no ``reset``. The batcher's position is not changed.
        """
        saved = self.state_dict()
        self.position = 0
        batches = [self._arrays(*self.next_batch()[:2]) for _ in range(self.chunks_per_epoch)]
        self.position, self.epoch = saved["position"], saved["epoch"]
        return batches

    def __next__(self) -> tuple[Any, Any, bool]:
        """The next ``(x, y, reset)``, as the training loop takes it: NumPy arrays, or int64 tensors on
        ``device``, and a bool.

        The streams start over after the last chunk, so iterating never ends (see :meth:`one_pass`
        for a finite pass). ``reset`` is True for the first chunk of every pass (as in
        :meth:`next_batch`): the state carried from the end of the text must not flow into its
        start. :func:`rnnbook.torch.charlm.lm_loss` starts from zeros there.
        """
        x, y, reset = self.next_batch()
        return (*self._arrays(x, y), reset)

    def _arrays(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        """``x`` and ``y`` as they are, or as int64 tensors on ``device`` if one was given."""
        if self.device is None:
            return x, y
        import torch  # only when tensors were asked for: rnnbook.text itself needs only NumPy

        return torch.as_tensor(x, device=self.device), torch.as_tensor(y, device=self.device)

    def next_batch(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """The next chunk: inputs ``x`` (T, B), targets ``y`` (T, B) (the next characters), and ``reset``.

        ``reset`` is True for the first chunk of every pass over the streams: the state carried
        from the previous chunk does not belong there and must be zeroed.
        """
        k, T = self.position, self.chunk_len
        window = self.streams[:, k * T: (k + 1) * T + 1]  # (B / world_size, T + 1)
        reset = k == 0
        self.position += 1
        if self.position == self.chunks_per_epoch:
            self.position, self.epoch = 0, self.epoch + 1
        return window[:, :-1].T.copy(), window[:, 1:].T.copy(), reset

    def state_dict(self) -> dict[str, int]:
        """Where the batcher is (the next chunk and the pass): what a checkpoint saves."""
        return {"position": self.position, "epoch": self.epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a :meth:`state_dict` (of a batcher over the same ids, B and T).

        Raises
        ------
        TypeError, ValueError
            If ``state`` is not a mapping with exactly the keys ``position`` and ``epoch``, or the
            position is outside this batcher's ``[0, chunks_per_epoch)``.
        """
        if not isinstance(state, Mapping) or set(state) != {"position", "epoch"}:
            raise ValueError(f"state must be a mapping with keys 'epoch' and 'position' (from state_dict()), "
                             f"got {given(state)}")
        position = check_int("state['position']", state["position"], 0, self.chunks_per_epoch - 1)
        self.epoch = check_int("state['epoch']", state["epoch"], minimum=0)
        self.position = position


def random_windows(ids: Any, batch_size: int, chunk_len: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``B`` windows of ``T`` steps at independent random positions: inputs ``x`` (T, B) and targets ``y`` (T, B).

    The windows do not continue one another, so the state must start from zero every batch:
    the comparison for :class:`StreamBatcher`.

    Raises
    ------
    TypeError, ValueError
        If ``ids`` is not a non-empty 1-D integer array, ``rng`` is not a Generator, or
        ``batch_size`` or ``chunk_len`` is not a positive int or is too large for the data.
    """
    array = _check_ids(ids)
    B, T = _check_batch_shape(len(array), batch_size, chunk_len)
    starts = check_rng(rng).integers(0, len(array) - T, size=B)
    window = array[starts[:, None] + np.arange(T + 1)]  # (B, T + 1)
    return window[:, :-1].T.copy(), window[:, 1:].T.copy()


def one_hot(ids: Any, vocab_size: int, dtype: Any = np.float64) -> np.ndarray:
    """``ids`` of any shape as one-hot vectors: shape ``ids.shape + (vocab_size,)``.

    Raises
    ------
    TypeError, ValueError
        If ``ids`` is not an integer array, or an id is outside ``[0, vocab_size)``.
    """
    V = check_size("vocab_size", vocab_size)
    array = np.asarray(ids)
    if array.dtype.kind not in "iu":
        raise TypeError(f"ids must be an integer array, got {given(ids)}")
    if array.size and (array.min() < 0 or array.max() >= V):
        raise ValueError(f"ids must be in [0, {V - 1}], got values in [{array.min()}, {array.max()}]")
    return np.eye(V, dtype=dtype)[array]
