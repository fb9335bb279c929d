"""Training throughput of character models, in characters per second, as ratios measured in one run.

Four contenders train a vanilla RNN character model (hidden size H, chunks of T characters, the
state carried from chunk to chunk) on the same text:

- ``one sequence (NumPy)``: one stream at a time, column vectors, a Python loop per time step and
  Adagrad with entrywise clipping: the style of Karpathy's min-char-rnn (2015)
  (hidden 100, 25-step chunks), written here from the equations;
- ``batched NumPy``: :class:`rnnbook.numpy.charlm.CharModel` on ``B`` parallel streams, its
  hand-written backward, global-norm clipping and :class:`rnnbook.numpy.optim.Adam` (in float64,
  and again in float32);
- ``torch CPU``: :class:`rnnbook.torch.charlm.CharModel` with autograd and ``torch.optim.Adam``;
- ``torch <GPU>``: the same on CUDA (or MPS), when one is available.

One call of each contender is one training step on one chunk (forward, loss, backward, clip,
update); the time per call is the median of interleaved repeats (``harness.interleaved_median_ms``),
and characters per second are ``chars per step / median time``. The ratio is against the
one-sequence loop of the same run. NumPy runs in float64 (as min-char-rnn) unless the row says float32; torch in float32.

    python benchmarks/bench_text.py                      # H=100, T=25, B=128, every device there is
    python benchmarks/bench_text.py --B 32 --repeats 10

The table and its provenance are printed and saved to ``benchmarks/results/text_<devices>_H<H>_T<T>_B<B>.md``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import torch

from harness import bench_parser, interleaved_median_ms, load_average, provenance, save_table, to_markdown
from rnnbook.device import describe, get_device
from rnnbook.numpy.charlm import CharModel
from rnnbook.numpy.clip import clip_grad_norm
from rnnbook.numpy.optim import Adam
from rnnbook.torch.charlm import CharModel as TorchCharModel
from rnnbook.torch.charlm import lm_loss
from rnnbook.torch.clip import clip_grad_norm_


def corpus_ids() -> tuple[np.ndarray, int]:
    """The text of CPython's pydoc topics (offline everywhere), as indices into its sorted characters."""
    from pydoc_data.topics import topics

    text = "".join(topics[key] for key in sorted(topics))
    chars = sorted(set(text))
    index = {c: k for k, c in enumerate(chars)}
    return np.array([index[c] for c in text], dtype=np.int64), len(chars)


class OneSequence:
    """A vanilla RNN trained one sequence at a time, min-char-rnn style: column vectors, a loop over
    the T steps of each chunk in both directions, Adagrad, gradients clipped entry by entry to [-5, 5].

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h),  p_t = softmax(W_hy h_t + b_y),  L = -sum_t log p_t[y_t]
    """

    def __init__(self, ids: np.ndarray, V: int, H: int, T: int, lr: float = 0.1, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.ids, self.V, self.T, self.lr = ids, V, T, lr
        self.params = {"W_xh": rng.normal(0, 0.01, (H, V)), "W_hh": rng.normal(0, 0.01, (H, H)),
                       "W_hy": rng.normal(0, 0.01, (V, H)), "b_h": np.zeros((H, 1)), "b_y": np.zeros((V, 1))}
        self.memory = {k: np.zeros_like(p) for k, p in self.params.items()}  # Adagrad's sums of squares
        self.h = np.zeros((H, 1))
        self.position = 0

    def loss_and_grads(self, chunk: np.ndarray, h: np.ndarray) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """The summed loss over one chunk of T + 1 characters from state ``h`` (H, 1), every
        parameter's gradient, and the last state."""
        W_xh, W_hh, W_hy, b_h, b_y = (self.params[k] for k in ("W_xh", "W_hh", "W_hy", "b_h", "b_y"))
        T = len(chunk) - 1
        xs, hs, ps = {}, {-1: h}, {}
        loss = 0.0
        for t in range(T):
            xs[t] = np.zeros((self.V, 1))
            xs[t][chunk[t]] = 1.0                                            # x_t = onehot(c_t)
            hs[t] = np.tanh(W_xh @ xs[t] + W_hh @ hs[t - 1] + b_h)           # h_t
            a = W_hy @ hs[t] + b_y                                           # logits
            e = np.exp(a - a.max())
            ps[t] = e / e.sum()                                              # p_t = softmax(a_t)
            loss -= float(np.log(ps[t][chunk[t + 1], 0]))
        grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        dh_next = np.zeros_like(h)
        for t in reversed(range(T)):
            da = ps[t].copy()
            da[chunk[t + 1]] -= 1.0                                          # dL/da_t = p_t - onehot(y_t)
            grads["W_hy"] += da @ hs[t].T
            grads["b_y"] += da
            dh = W_hy.T @ da + dh_next                                       # from the output and from t+1
            dz = (1.0 - hs[t] * hs[t]) * dh                                  # through tanh
            grads["b_h"] += dz
            grads["W_xh"] += dz @ xs[t].T
            grads["W_hh"] += dz @ hs[t - 1].T
            dh_next = W_hh.T @ dz
        return loss, grads, hs[T - 1]

    def step(self) -> float:
        """One chunk of T characters: forward, loss, backward, clip, Adagrad update; returns the mean loss."""
        if self.position + self.T + 1 > len(self.ids):
            self.position, self.h = 0, np.zeros_like(self.h)
        chunk = self.ids[self.position:self.position + self.T + 1]
        self.position += self.T
        loss, grads, self.h = self.loss_and_grads(chunk, self.h)
        for k, p in self.params.items():
            g = np.clip(grads[k], -5.0, 5.0)                                 # entrywise clipping
            self.memory[k] += g * g
            p -= self.lr * g / np.sqrt(self.memory[k] + 1e-8)                # Adagrad
        return loss / self.T


class Streams:
    """B parallel streams over ``ids``, consecutive chunks of T steps, for the batched contenders."""

    def __init__(self, ids: np.ndarray, B: int, T: int) -> None:
        L = (len(ids) - 1) // B
        self.streams = np.stack([ids[b * L:(b + 1) * L + 1] for b in range(B)])  # (B, L + 1)
        self.T, self.chunks, self.k = T, L // T, 0

    def next(self) -> tuple[np.ndarray, np.ndarray, bool]:
        k, T = self.k, self.T
        window = self.streams[:, k * T:(k + 1) * T + 1].T     # (T + 1, B)
        self.k = (k + 1) % self.chunks
        return window[:-1].copy(), window[1:].copy(), k == 0


def batched_numpy(ids: np.ndarray, V: int, H: int, T: int, B: int, dtype: type = np.float64) -> Callable[[], None]:
    model = CharModel(V, H, "rnn", rng=np.random.default_rng(0), dtype=dtype)
    opt, streams = Adam(model.params, lr=2e-3), Streams(ids, B, T)
    state: list = [None]

    def step() -> None:
        x, y, reset = streams.next()
        loss, grads, state[0] = model.loss_and_grads(x, y, None if reset else state[0])
        clipped, _ = clip_grad_norm({k: grads[k] for k in model.params}, 5.0)
        opt.step(clipped)

    return step


def batched_torch(ids: np.ndarray, V: int, H: int, T: int, B: int, device: torch.device) -> Callable[[], None]:
    torch.manual_seed(0)
    model = TorchCharModel(V, H, "rnn", device=device)
    opt, streams = torch.optim.Adam(model.parameters(), lr=2e-3), Streams(ids, B, T)
    state: list = [None]

    def step() -> None:
        x, y, reset = streams.next()
        opt.zero_grad(set_to_none=True)
        loss, state[0] = lm_loss(model, (x, y, reset), state[0])
        loss.backward()
        clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    return step


def main() -> None:
    parser = bench_parser(__doc__, repeats=20, device_help="the accelerator to add: cuda or mps (default: any there is)")
    parser.add_argument("--H", type=int, default=100, help="hidden size (min-char-rnn: 100)")
    parser.add_argument("--T", type=int, default=25, help="characters per chunk (min-char-rnn: 25)")
    parser.add_argument("--B", type=int, default=128, help="parallel streams of the batched contenders")
    # make bench passes the layer benchmark's options to every script: accept and ignore those
    parser.add_argument("--D", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sweep-T", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    accelerator = get_device(args.device)
    load_before = load_average()
    ids, V = corpus_ids()
    H, T, B = args.H, args.T, args.B
    one = OneSequence(ids, V, H, T)
    contenders: dict[str, tuple[Callable[[], None], int]] = {
        "one sequence (NumPy, min-char-rnn style)": (one.step, T),
        f"batched NumPy (B={B})": (batched_numpy(ids, V, H, T, B), B * T),
        f"batched NumPy float32 (B={B})": (batched_numpy(ids, V, H, T, B, np.float32), B * T),
        f"torch CPU (B={B})": (batched_torch(ids, V, H, T, B, torch.device("cpu")), B * T),
    }
    if accelerator.type != "cpu":
        contenders[f"torch {describe(accelerator)} (B={B})"] = (batched_torch(ids, V, H, T, B, accelerator), B * T)
    ms = interleaved_median_ms({name: fn for name, (fn, _) in contenders.items()}, accelerator, args.repeats, warmup=2)
    base = T / (ms["one sequence (NumPy, min-char-rnn style)"] / 1e3)
    rows = []
    for name, (_, chars) in contenders.items():
        rate = chars / (ms[name] / 1e3)
        rows.append({"contender": name, "chars/step": chars, "ms/step": ms[name], "chars/s": f"{rate:,.0f}",
                     "ratio": rate / base})
    devices = "cpu" if accelerator.type == "cpu" else f"cpu+{accelerator.type}"
    title = (f"## Character-model training throughput on {describe(accelerator) if accelerator.type != 'cpu' else 'cpu'}\n\n"
             f"Vanilla RNN, V={V} characters (pydoc topics), H={H}, T={T}; median of {args.repeats} interleaved "
             f"steps. Ratio = chars/s / the one-sequence loop's (higher is better); target for batched NumPy: >= 20.")
    save_table(to_markdown(rows, title + "\n\n" + provenance(accelerator, load_before)),
               f"text_{devices}_H{H}_T{T}_B{B}", args.label, args.out)


if __name__ == "__main__":
    main()
