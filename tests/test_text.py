"""rnnbook.text (chapter 5): the corpora, the downloader (offline, against a loopback server), the
vocabulary, the split and the two batchers."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rnnbook.text import (TINY_SHAKESPEARE_SHA256, DownloadError, StreamBatcher, Vocabulary, download, load_text,
                          normalize, one_hot, pydoc_corpus, random_windows, split, tiny_shakespeare)

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = ("To be, or not to be, that is the question.\n" * 50 + "床前明月光，疑是地上霜。\n").encode()
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Server:
    """A loopback HTTP server: /corpus.txt serves PAYLOAD, /truncated.txt stops halfway, anything else is a 404."""

    def __init__(self) -> None:
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if self.path.endswith("/corpus.txt"):
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(PAYLOAD)))
                    self.end_headers()
                    self.wfile.write(PAYLOAD)
                elif self.path.endswith("/truncated.txt"):  # promises the whole file, sends half, hangs up
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(PAYLOAD)))
                    self.end_headers()
                    self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                else:
                    self.send_error(404)

            def log_message(self, *args: object) -> None:  # keep pytest's output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


# -- the offline corpus and the loader ---------------------------------------------------------------

def test_pydoc_corpus_is_offline_normalised_text():
    text = pydoc_corpus()
    assert 200_000 < len(text) < 2_000_000, len(text)
    assert "The \"if\" statement" in text
    assert not any(c in text for c in "\u2018\u2019\u201c\u201d\u2013\u2014\r")
    assert all(line == line.rstrip() for line in text.split("\n"))
    assert pydoc_corpus() == text  # deterministic


def test_normalize():
    assert normalize("\u201cA\u201d \u2013 b\u2026  \r\nc\rd") == '"A" - b...\nc\nd'
    assert normalize("e\u0301") == "\u00e9"  # NFC: one code point for é


def test_load_text_reads_unicode_from_a_unicode_path(tmp_path):
    path = tmp_path / "诗 poème.txt"
    path.write_bytes("静夜思\r\n床前明月光\n".encode())
    assert load_text(path) == "静夜思\n床前明月光\n"


def test_load_text_refuses_empty_and_undecodable_files(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_text(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(ValueError, match="not valid utf-8 text.*byte 3"):
        load_text(tmp_path / "latin1.txt")
    with pytest.raises(FileNotFoundError):
        load_text(tmp_path / "missing.txt")


# -- the downloader, offline: a loopback server ------------------------------------------------------

def test_download_verifies_saves_and_leaves_no_temporary_file(server, tmp_path):
    path = download(f"{server.url}/corpus.txt", PAYLOAD_SHA, cache_dir=tmp_path)
    assert path == tmp_path / "corpus.txt" and path.read_bytes() == PAYLOAD
    assert sorted(os.listdir(tmp_path)) == ["corpus.txt"]
    assert server.requests == 1


def test_download_uses_the_cache_without_the_network(server, tmp_path):
    first = download(f"{server.url}/corpus.txt", PAYLOAD_SHA, cache_dir=tmp_path)
    server.close()  # no server any more: a second request would fail
    assert download(f"{server.url}/corpus.txt", PAYLOAD_SHA, cache_dir=tmp_path) == first
    assert server.requests == 1


def test_a_corrupt_cached_file_is_downloaded_again(server, tmp_path):
    (tmp_path / "corpus.txt").write_bytes(PAYLOAD[:-5])
    path = download(f"{server.url}/corpus.txt", PAYLOAD_SHA, cache_dir=tmp_path)
    assert path.read_bytes() == PAYLOAD and server.requests == 1


def test_a_wrong_checksum_raises_and_leaves_nothing(server, tmp_path):
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(DownloadError, match=f"wrong checksum: expected sha256 {wrong}, got {PAYLOAD_SHA}"):
        download(f"{server.url}/corpus.txt", wrong, cache_dir=tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["missing.txt", "truncated.txt"])
def test_a_failed_download_raises_and_leaves_nothing(server, tmp_path, name):
    url = f"{server.url}/{name}"
    with pytest.raises(DownloadError, match=f"downloading {url} failed"):
        download(url, PAYLOAD_SHA, cache_dir=tmp_path)
    assert os.listdir(tmp_path) == []


def test_no_server_raises_a_download_error(tmp_path):
    s = _Server()
    url = f"{s.url}/corpus.txt"
    s.close()  # the port is closed: connection refused
    with pytest.raises(DownloadError, match="failed"):
        download(url, PAYLOAD_SHA, cache_dir=tmp_path / "new")
    assert os.listdir(tmp_path / "new") == []


def test_download_into_a_unicode_cache_dir_and_file_name(server, tmp_path):
    cache = tmp_path / "缓存 données"
    path = download(f"{server.url}/corpus.txt", PAYLOAD_SHA, cache_dir=cache, filename="莎士比亚.txt")
    assert path == cache / "莎士比亚.txt"
    assert load_text(path).endswith("床前明月光，疑是地上霜。\n")


def test_tiny_shakespeare_checks_its_pinned_checksum(server, tmp_path):
    """Served the wrong bytes, the Tiny Shakespeare loader refuses them (its digest is the real file's)."""
    assert len(TINY_SHAKESPEARE_SHA256) == 64
    with pytest.raises(DownloadError, match="wrong checksum"):
        tiny_shakespeare(cache_dir=tmp_path, url=f"{server.url}/corpus.txt")
    assert os.listdir(tmp_path) == []


def test_download_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="sha256 must be a SHA-256 hex digest"):
        download("http://127.0.0.1:9/x.txt", "abc", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="filename must be given"):
        download("http://127.0.0.1:9/", PAYLOAD_SHA, cache_dir=tmp_path)


# -- the vocabulary ---------------------------------------------------------------------------------

def test_vocabulary_is_sorted_and_round_trips_unicode():
    text = "hello, 世界! héllo"
    vocab = Vocabulary.from_text(text)
    assert vocab.chars == tuple(sorted(set(text))) and len(vocab) == len(set(text))
    ids = vocab.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert vocab.decode(ids) == text
    assert vocab.decode(list(ids)) == text
    assert [vocab.chars[i] for i in ids] == list(text)


def test_unknown_characters_at_encode_time_are_named():
    vocab = Vocabulary.from_text("abc")
    with pytest.raises(ValueError, match=r"2 character\(s\) not in the vocabulary: 'xé' \(first at index 1\)"):
        vocab.encode("axbé")
    assert vocab.encode("") .shape == (0,)


def test_vocabulary_bad_input():
    with pytest.raises(ValueError, match="text must not be empty"):
        Vocabulary.from_text("")
    with pytest.raises(TypeError, match="text must be a str"):
        Vocabulary.from_text(b"abc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sorted"):
        Vocabulary(("b", "a"))
    vocab = Vocabulary.from_text("ab")
    with pytest.raises(ValueError, match=r"ids must be in \[0, 1\], got values in \[0, 2\]"):
        vocab.decode([0, 2])
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        vocab.decode([0.0, 1.0])


_PROGRAM = ("from rnnbook.text import Vocabulary, pydoc_corpus; text = pydoc_corpus(); "
            "print(ascii(''.join(Vocabulary.from_text(text).chars))); print(ascii(''.join(list(set(text)))))")


@pytest.mark.slow
def test_vocabulary_is_identical_across_hash_seeds():
    """Sorted order is the same in every process; list(set(text)), the mistake, is not (so the test can fail)."""
    outputs = []
    for seed in ("0", "1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", _PROGRAM], env=env, capture_output=True, text=True,
                                check=True, cwd=ROOT)
        outputs.append(result.stdout.splitlines())
    assert len({sorted_ for sorted_, _ in outputs}) == 1
    assert len({unsorted for _, unsorted in outputs}) > 1


# -- the split and the batchers ---------------------------------------------------------------------

def test_split_is_by_position():
    ids = np.arange(100)
    train, val, test = split(ids)
    assert (len(train), len(val), len(test)) == (90, 5, 5)
    assert np.array_equal(np.concatenate([train, val, test]), ids)
    with pytest.raises(ValueError, match="too short to split"):
        split(np.arange(10))
    with pytest.raises(ValueError, match="summing to 1"):
        split(ids, (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="must not be empty"):
        split(np.zeros(0, dtype=np.int64))


def test_stream_batcher_carries_each_stream_across_chunks():
    ids = np.arange(103)  # B = 4 streams of L = 25 steps, T = 6: 4 chunks, 1 step left over
    batcher = StreamBatcher(ids, batch_size=4, chunk_len=6)
    assert batcher.chunks_per_epoch == 4
    xs, ys, resets = zip(*(batcher.next_batch() for _ in range(5)))
    assert resets == (True, False, False, False, True)  # the fifth batch starts the streams over
    for x, y in zip(xs, ys):
        assert x.shape == y.shape == (6, 4)
        assert np.array_equal(y, x + 1)  # targets are the next ids
    for k in range(3):  # row b of chunk k + 1 continues row b of chunk k
        assert np.array_equal(xs[k + 1][0], ys[k][-1])
    stream = np.concatenate(xs[:4])  # (24, 4): each column is a contiguous piece of the text
    assert np.array_equal(stream, np.arange(24)[:, None] + 25 * np.arange(4))
    assert np.array_equal(xs[4], xs[0])
    one_pass = batcher.one_pass()  # a finite list, for evaluation; the position is kept
    assert len(one_pass) == 4 and batcher.state_dict() == {"position": 1, "epoch": 1}
    assert all(np.array_equal(x, u) and np.array_equal(y, v) for (x, y), u, v in zip(one_pass, xs, ys))


def test_stream_batcher_state_dict_resumes_exactly():
    ids = np.random.default_rng(0).integers(0, 10, 500)
    a = StreamBatcher(ids, 3, 7)
    for _ in range(30):  # past one pass (23 chunks)
        a.next_batch()
    state = a.state_dict()
    assert state == {"position": 7, "epoch": 1}
    b = StreamBatcher(ids, 3, 7)
    b.load_state_dict(state)
    for _ in range(40):
        for u, v in zip(a.next_batch(), b.next_batch()):
            assert np.array_equal(u, v)
    with pytest.raises(ValueError, match="keys 'epoch' and 'position'"):
        b.load_state_dict({"position": 1})
    with pytest.raises(ValueError, match=r"state\['position'\] must be an int in \[0, 22\], got 23"):
        b.load_state_dict({"position": 23, "epoch": 0})


def test_batchers_refuse_data_too_short_for_the_batch():
    ids = np.arange(20)
    with pytest.raises(ValueError, match="chunk_len must be smaller than the data: 20 \\+ 1"):
        StreamBatcher(ids, 1, 20)
    with pytest.raises(ValueError, match="batch_size must be at most the number of ids minus one \\(19\\), got 20"):
        StreamBatcher(ids, 20, 1)
    with pytest.raises(ValueError, match="batch_size \\* chunk_len is larger than the data"):
        StreamBatcher(ids, 4, 5)  # 4 streams of 4 steps < 5
    with pytest.raises(ValueError, match="must not be empty"):
        StreamBatcher(np.zeros(0, dtype=np.int64), 1, 1)
    with pytest.raises(TypeError, match="batch_size must be a positive int"):
        StreamBatcher(ids, 2.0, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_len must be smaller than the data"):
        random_windows(ids, 2, 20, np.random.default_rng(0))


def test_random_windows_are_pieces_of_the_text():
    ids = np.arange(1000)
    x, y = random_windows(ids, 8, 16, np.random.default_rng(0))
    assert x.shape == y.shape == (16, 8)
    assert np.array_equal(y, x + 1) and np.array_equal(x - x[0], np.broadcast_to(np.arange(16)[:, None], x.shape))
    assert x.min() >= 0 and y.max() <= 999
    assert len(set(x[0].tolist())) > 1  # independent starts


def test_iterating_with_a_device_gives_torch_tensors():
    torch = pytest.importorskip("torch")
    batcher = StreamBatcher(np.arange(50), 2, 5, device="cpu")
    x, y, reset = next(batcher)
    assert isinstance(x, torch.Tensor) and x.dtype == torch.int64 and tuple(x.shape) == (5, 2)
    assert torch.equal(y, x + 1) and reset is True
    assert all(isinstance(a, torch.Tensor) for pair in batcher.one_pass() for a in pair)
    assert isinstance(next(iter(StreamBatcher(np.arange(50), 2, 5)))[0], np.ndarray)


def test_iterating_says_where_the_streams_start_over():
    """next(batcher) is next_batch() as the loop takes it: (x, y, reset), reset True at every wrap."""
    a, b = StreamBatcher(np.arange(103), 4, 6), StreamBatcher(np.arange(103), 4, 6)  # 4 chunks per pass
    for _ in range(10):
        (x, y, reset), (u, v, expected) = next(a), b.next_batch()
        assert np.array_equal(x, u) and np.array_equal(y, v) and reset is expected
    assert a.state_dict() == {"position": 2, "epoch": 2}
    assert [reset for _, _, reset in (next(a) for _ in range(6))] == [False, False, True, False, False, False]
    assert all(len(pair) == 2 for pair in a.one_pass())  # one pass never wraps: pairs


def test_one_hot():
    assert np.array_equal(one_hot(np.array([[2], [0]]), 3), [[[0, 0, 1]], [[1, 0, 0]]])
    with pytest.raises(ValueError, match=r"ids must be in \[0, 2\]"):
        one_hot(np.array([3]), 3)
