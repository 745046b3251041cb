"""Speed (#15): prefix sharing (``empirical.prefix``) gives the plain path's numbers.

Each distinct prompt runs once and its answers run on its key/value cache; the log-probs and
their gradients must equal the full-sequence computation of ``completion_logprobs`` up to float
rounding (atol 1e-5 on log-probs of magnitude ~1-10, gradients within 1e-5 relative to their
largest entry), and sampling must draw the same tokens as transformers' ``generate`` from the
same seed."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from empirical.data import synthetic_task
from empirical.prefix import answer_logprobs, distinct, logprobs, shareable
from empirical.sampling import sample_answers
from empirical.steps import choice_completion
from empirical.student import completion_logprobs, load_student
from empirical.train import batched_logprobs
from empirical.vision_cache import register_prompts


@pytest.fixture(scope="module")
def setup(tiny_path):
    st = load_student(tiny_path, device="cpu")
    qs = synthetic_task(12, 7, split="pool")
    prompts = [st.encode(q.prompt, q.images) for q in qs]
    register_prompts(st, prompts, block=8)
    return st, prompts


def _rows(st, prompts):
    """Rows with repeated prompts, out of order, answers of 1, 2 and 3 tokens."""
    letters = [choice_completion(st, a) for a in "ABCD"]
    rows, comps = [], []
    for i, p in enumerate(prompts):
        rows += [p, p]
        comps += [letters[i % 4], letters[(i + 1) % 4][:1] if i % 3 == 0 else letters[i % 2]]
    rows.append(prompts[2])
    comps.append(letters[0][:1] + letters[1])  # three tokens
    return rows[::-1], comps[::-1]


def test_distinct_groups_rows_by_prompt_identity(setup):
    st, prompts = setup
    uniq, idx = distinct([prompts[3], prompts[1], prompts[3], prompts[0]])
    assert uniq == [prompts[3], prompts[1], prompts[0]] and idx == [0, 1, 0, 2]
    assert shareable(st, st.model, prompts)
    st.prefix_sharing = False
    assert not shareable(st, st.model, prompts)
    st.prefix_sharing = True


def test_shared_prefix_logprobs_equal_the_full_sequence_ones(setup):
    st, prompts = setup
    rows, comps = _rows(st, prompts)
    with torch.no_grad():
        want = completion_logprobs(st, rows, comps)
        got = answer_logprobs(st, st.model, rows, comps)
    assert want.abs().min() > 0.1  # real numbers, not zeros
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    # the no-gradient batches: grouped by prompt, put back in order
    a = batched_logprobs(st, rows, comps, batch_size=7)
    st.prefix_sharing = False
    b = batched_logprobs(st, rows, comps, batch_size=7)
    st.prefix_sharing = True
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    np.testing.assert_allclose(a, want.double().numpy(), rtol=0, atol=1e-5)


def test_shared_prefix_gradients_equal_the_full_sequence_ones(setup):
    st, prompts = setup
    rows, comps = _rows(st, prompts[:5])
    params = [p for p in st.model.parameters() if p.requires_grad]
    st.model.train()
    g_plain = torch.autograd.grad(completion_logprobs(st, rows, comps).sum(), params)
    g_shared = torch.autograd.grad(logprobs(st, rows, comps).sum(), params)
    st.model.eval()
    scale = max(g.abs().max() for g in g_plain)
    assert scale > 0
    for a, b in zip(g_plain, g_shared):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-5 * float(scale))


@pytest.mark.parametrize("greedy,temperature", [(False, 1.0), (False, 0.7), (True, 1.0)])
def test_shared_sampling_draws_what_generate_draws(setup, greedy, temperature):
    st, prompts = setup

    def draw(share: bool):
        st.prefix_sharing = share
        return sample_answers(
            st, prompts, 4, max_new_tokens=3, batch_size=5, seed=11,
            temperature=temperature, greedy=greedy,
        )  # fmt: skip

    shared, plain = draw(True), draw(False)
    st.prefix_sharing = True
    assert shared == plain
    assert len({c for comps in plain for c in comps}) > (1 if greedy else 8)  # real draws


def test_frozen_reference_runs_each_prompt_block_once_per_run(setup):
    """The frozen reference keeps each prompt's cache (computed by its registered block) for
    the run: a second pass runs the answers only, with the same numbers; an in-place change of
    its weights invalidates the cache."""
    st, prompts = setup
    ref = copy.deepcopy(st.model).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    rows, comps = _rows(st, prompts)
    calls = []
    h = ref.model.language_model.register_forward_hook(
        lambda m, i, o: calls.append(o.last_hidden_state.shape[1])
    )
    first = batched_logprobs(st, rows, comps, batch_size=6, model=ref)
    n_first = list(calls)
    again = batched_logprobs(st, rows, comps, batch_size=6, model=ref)
    n_again = calls[len(n_first) :]
    st.prefix_sharing = False
    plain = batched_logprobs(st, rows, comps, batch_size=6, model=ref)
    st.prefix_sharing = True
    with torch.no_grad():
        next(ref.parameters()).mul_(1.0)  # same values, new version: the cache is stale
    calls.clear()
    batched_logprobs(st, rows, comps, batch_size=6, model=ref)
    h.remove()
    width = len(prompts[0].input_ids)
    assert n_first.count(width) == 2  # the two registered blocks (8 + 4 prompts)
    assert n_again and width not in n_again  # answers only
    assert calls.count(width) == 2  # recomputed after the weights changed
    np.testing.assert_array_equal(again, first)
    np.testing.assert_allclose(first, plain, rtol=0, atol=1e-5)
