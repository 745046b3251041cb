"""Speed (#15): the caches of ``empirical.vision_cache`` (vision features per prompt and tower
weight version, rope positions per prompt) give the log-probs of the plain computation."""

from __future__ import annotations

import copy

import torch

from empirical.data import synthetic_task
from empirical.student import completion_logprobs, load_student
from empirical.train import swapped_weights, trainable_state
from empirical.vision_cache import register_prompts, vision_is_frozen


def test_frozen_vision_features_are_cached_and_give_the_same_logprobs(tiny_path):
    """Speed (#15): a frozen vision tower (the reference model, a LoRA student) runs once per
    prompt for the whole run (the call's misses in one batch); the log-probs equal those from
    pixels."""
    st = load_student(tiny_path, device="cpu")
    ref = copy.deepcopy(st.model).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    assert vision_is_frozen(ref) and not vision_is_frozen(st.model)
    qs = synthetic_task(5, 2, split="pool")
    prompts = [st.encode(q.prompt, q.images) for q in qs]
    comps = [(st.tokenizer.convert_tokens_to_ids(q.answer), st.eos_token_ids[0]) for q in qs]
    calls = []
    h = ref.model.visual.register_forward_hook(lambda m, i, o: calls.append(1))
    with torch.no_grad():
        st.vision_cache = False
        want = completion_logprobs(st, prompts, comps, model=ref)
        n_plain = len(calls)
        st.vision_cache = True
        first = completion_logprobs(st, prompts, comps, model=ref)
        n_first = len(calls) - n_plain
        again = completion_logprobs(st, prompts[::-1], comps[::-1], model=ref)
    h.remove()
    assert n_plain == 1 and n_first == 1 and len(calls) == n_plain + n_first  # cached after
    torch.testing.assert_close(first, want, rtol=0, atol=1e-5)
    torch.testing.assert_close(again, first.flip(0), rtol=0, atol=1e-6)


def test_trained_tower_features_follow_the_weights_and_rope_positions_match_the_model(tiny_path):
    """Speed (#15): a trained tower's cached features are reused only while its weights stay
    (an optimiser step invalidates them; a swap out and back keeps them); with the caches
    (vision features per block, rope positions per prompt) the log-probs equal the model's own
    computation from pixels and its ``get_rope_index``."""
    st = load_student(tiny_path, device="cpu")
    qs = synthetic_task(6, 4, split="pool")
    prompts = [st.encode(q.prompt, q.images) for q in qs]
    register_prompts(st, prompts, block=4)
    comps = [(st.tokenizer.convert_tokens_to_ids(q.answer), st.eos_token_ids[0]) for q in qs]
    calls = []
    h = st.model.model.visual.register_forward_hook(lambda m, i, o: calls.append(1))

    def lp(cache: bool):
        st.vision_cache = st.position_cache = cache
        with torch.no_grad():
            return completion_logprobs(st, prompts[::-1], comps[::-1])

    want = lp(False)
    got = lp(True)
    assert len(calls) == 1 + 2  # pixels once; then blocks {0..3} and {4, 5}
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    lp(True)
    assert len(calls) == 3  # same weights: cached
    before = trainable_state(st.model)
    with swapped_weights(st, {k: v + 0.01 for k, v in before.items()}):
        moved = lp(True)
    assert len(calls) == 5 and not torch.allclose(moved, got)  # the swap computes its own
    lp(True)
    assert len(calls) == 5  # swapped back: the features from before the swap still serve
    opt = torch.optim.SGD([p for p in st.model.parameters() if p.requires_grad], lr=0.1)
    loss = -completion_logprobs(st, prompts, comps).sum()  # gradient pass: no cache
    loss.backward()
    opt.step()
    after_cached, after_plain = lp(True), lp(False)
    h.remove()
    assert len(calls) == 5 + 1 + 2 + 1  # gradient pass, new blocks, the plain pass
    torch.testing.assert_close(after_cached, after_plain, rtol=0, atol=1e-5)
    assert not torch.allclose(after_cached, got)


def test_tower_in_training_gets_the_same_gradients_from_precomputed_indices(tiny_path):
    """Speed (#15): a gradient pass with ``vision_cache`` on runs the tower once per pass with
    its index tensors precomputed (``vision_kwargs``); gradients equal the model's own pass on
    the pixels."""
    st = load_student(tiny_path, device="cpu")
    qs = synthetic_task(5, 3, split="pool")
    prompts = [st.encode(q.prompt, q.images) for q in qs]
    comps = [(st.tokenizer.convert_tokens_to_ids(q.answer), st.eos_token_ids[0]) for q in qs]
    params = [p for p in st.model.parameters() if p.requires_grad]
    grads = {}
    for cache in (False, True):
        st.vision_cache = cache
        grads[cache] = torch.autograd.grad(completion_logprobs(st, prompts, comps).sum(), params)
    tower = {id(p) for p in st.model.model.visual.parameters()}
    assert any(id(p) in tower and g.abs().max() > 0 for p, g in zip(params, grads[True]))
    for a, b in zip(grads[False], grads[True]):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6)
