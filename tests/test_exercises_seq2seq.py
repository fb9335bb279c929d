"""Chapter 10's checker (rnnbook.exercises.seq2seq): its reference is the model's own attention
step, it accepts a correct answer, and names each typical wrong answer.

The wrong answers are written here, independently of the checker's variants: each is a plausible
reader's function with one mistake, switched on by a keyword.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from rnnbook.exercises import check_additive_attention
from rnnbook.exercises.core import SIZES
from rnnbook.exercises.seq2seq import ADDITIVE_ATTENTION
from rnnbook.seq2seq import Memory, Seq2Seq


def quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return check_additive_attention(fn)


def attention(s_prev, enc, mask, params, *, mistake=None):
    S, B, H = enc.shape
    contexts, weights = np.zeros((B, H)), np.zeros((S, B))
    for b in range(B):  # one source at a time, written another way than the checker's reference
        valid = np.flatnonzero(mask[:, b]) if mistake not in ("no_mask", "after") else np.arange(S)
        pre = params["W_a"] @ s_prev[b] + enc[valid, b] @ params["U_a"].T + params["b_a"]
        scores = (pre if mistake == "no_tanh" else np.tanh(pre)) @ params["v"]
        w = np.exp(scores - scores.max())
        if mistake == "unnormalised":
            w = np.exp(scores)
        else:
            w = w / w.sum()
        if mistake == "after":  # the softmax over every position, then the padding zeroed
            w = w * mask[valid, b]
        weights[valid, b] = w
        values = enc[valid, b] @ params["U_a"].T + params["b_a"] if mistake == "keys" else enc[valid, b]
        contexts[b] = w @ values
    return contexts, weights


def test_the_reference_is_the_models_attention_step():
    rng = np.random.default_rng(0)
    s_prev, enc, mask, params = ADDITIVE_ATTENTION.make_case(rng, 3, 4, 4, 5)
    torch.manual_seed(0)
    model = Seq2Seq(7, 7, hidden_size=4, attention=True, dtype=torch.float64)
    with torch.no_grad():
        model.W_a.weight.copy_(torch.from_numpy(params["W_a"]))
        model.U_a.weight.copy_(torch.from_numpy(params["U_a"]))
        model.U_a.bias.copy_(torch.from_numpy(params["b_a"]))
        model.v.weight.copy_(torch.from_numpy(params["v"])[None])
        outputs = torch.from_numpy(enc)
        memory = Memory(outputs, model.U_a(outputs), torch.from_numpy(mask), outputs[0])
        context, alpha = model.attend(torch.from_numpy(s_prev), memory)
    expected = ADDITIVE_ATTENTION.reference(s_prev, enc, mask, params)
    assert np.allclose(context.numpy(), expected["context"], rtol=0, atol=1e-13)
    assert np.allclose(alpha.numpy(), expected["alpha"], rtol=0, atol=1e-13)
    assert not mask.all() and (expected["alpha"][~mask] == 0).all()


def test_a_correct_answer_passes():
    verdict = quiet(attention)
    assert verdict.passed and verdict.cases == len(SIZES), verdict.message


@pytest.mark.parametrize("mistake, cause", [
    ("no_mask", "padding_not_masked"), ("no_tanh", "missing_tanh"), ("keys", "context_from_keys"),
    ("unnormalised", "unknown"), ("after", "masked_after_softmax"),
])
def test_each_mistake_is_named(mistake, cause):
    verdict = quiet(lambda *args: attention(*args, mistake=mistake))
    assert not verdict.passed and verdict.cause == cause, verdict.message


def test_not_implemented_and_bad_arguments():
    def stub(s_prev, enc, mask, params):
        raise NotImplementedError

    assert quiet(stub).cause == "not_implemented"
    with pytest.raises(TypeError, match="fn must take the arguments"):
        check_additive_attention(lambda s_prev, enc: None)
