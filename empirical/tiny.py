"""``selfdpo empirical tiny``: the whole loop end to end on CPU with a tiny Qwen-VL student.

Builds a Qwen2.5-VL-architecture model from a tiny config with a word-level tokenizer, a Qwen
image processor and a chat template made locally, saves them with ``save_pretrained`` and loads
them back through ``empirical.student.load_student`` (the path real checkpoints take),
supervised-trains it on the synthetic task to a middling held-out accuracy, then runs self-DPO
from that same start with an above-threshold, a below-threshold and a near-random synthetic
verifier, measures each verifier's (alpha_hat, kappa_hat) on a calibration split and compares
theory's predicted sign (T1: the sign of a_pair - 1/2) with the measured held-out change.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from empirical.compare import compare_seeds, format_table, run_report
from empirical.config import LoopConfig
from empirical.data import COLOURS, LETTERS, SYNTH_QUESTION, synthetic_task
from empirical.loop import run_loop
from empirical.steps import choice_completion, evaluate
from empirical.student import completion_logprobs, load_student
from empirical.verifiers import JUDGE_PROMPT, make_verifier

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# the Qwen-VL chat template's structure, images as <|vision_start|><|image_pad|><|vision_end|>
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for c in m['content'] %}{% if c['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
IMAGE_SIZE = 56  # 4 x 4 patches of 14 px, merged 2 x 2: 4 image tokens per question


def tiny_vocabulary() -> list[str]:
    """Words of the synthetic task, the judge prompt and the chat roles."""
    text = " ".join([SYNTH_QUESTION, JUDGE_PROMPT, "system user assistant yes no", *COLOURS])
    words = re.findall(r"\w+|[^\w\s]+", text)
    words += list(LETTERS[:4]) + [str(d) for d in range(10)]
    return ["[UNK]"] + sorted(set(words))


def build_tiny_student(path: str | Path, *, seed: int = 0, hidden: int = 64) -> Path:
    """Create and ``save_pretrained`` a tiny Qwen2.5-VL student (model, tokenizer, processor)."""
    import torch
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
    )
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    path = Path(path)
    vocab = {w: i for i, w in enumerate(tiny_vocabulary())}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIAL_TOKENS])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="[UNK]",
        padding_side="left",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    side = IMAGE_SIZE * IMAGE_SIZE
    image_processor = Qwen2VLImageProcessorPil(
        size={"shortest_edge": side, "longest_edge": side},
        patch_size=14,
        merge_size=2,
        temporal_patch_size=2,
    )
    ids = {s: tokenizer.convert_tokens_to_ids(s) for s in SPECIAL_TOKENS}
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=256,
            bos_token_id=None,
            eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"],
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [2, 3, 3],
            },
        ),
        vision_config=dict(
            depth=1,
            hidden_size=32,
            intermediate_size=64,
            num_heads=2,
            out_hidden_size=hidden,
            fullatt_block_indexes=[0],
            window_size=IMAGE_SIZE,
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    image_processor.save_pretrained(path)
    (path / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    return path


def supervised_warmup(
    student: Any,
    train: list,
    dev: list,
    *,
    learn_to: float = 0.85,
    soften_to: float = 0.6,
    label_accuracy: float = 0.3,
    max_steps: int = 400,
    lr: float = 1e-2,
    batch: int = 32,
    seed: int = 0,
) -> dict:
    """Two supervised phases that leave a middling student which already sees the colours.

    Phase 1 (learn): cross-entropy on the true letters until dev p_correct >= ``learn_to``, so
    the vision features exist. Phase 2 (soften): labels that are true with probability
    ``label_accuracy`` and uniform otherwise (drawn afresh each step) until dev p_correct <=
    ``soften_to``: the answer read-out becomes uncertain while the features stay, a start from
    which DPO can move held-out accuracy either way. Dev p_correct is checked every 5 steps in
    phase 1 and every step (at a tenth of the learning rate) in phase 2.
    """
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    prompts = student.encode_all([(q.prompt, q.images) for q in train])
    dev_prompts = student.encode_all([(q.prompt, q.images) for q in dev])
    letters = [LETTERS[k] for k in range(len(train[0].choices))]
    comps = {a: choice_completion(student, a) for a in letters}
    params = [p for p in student.model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    ecfg = LoopConfig(choice_probs=True, greedy_eval=False, gen_batch=64)

    def dev_acc() -> float:
        return evaluate(student, dev, dev_prompts, ecfg)["p_correct"]

    def step(q: float) -> None:
        student.model.train()
        idx = rng.choice(len(train), size=batch, replace=False)
        noisy = rng.random(batch) >= q
        guess = rng.integers(len(letters), size=batch)
        ans = [letters[g] if nz else train[i].answer for i, nz, g in zip(idx, noisy, guess)]
        lp = completion_logprobs(student, [prompts[i] for i in idx], [comps[a] for a in ans])
        opt.zero_grad()
        (-lp.mean()).backward()
        opt.step()

    steps = [0, 0]
    acc = dev_acc()
    learned = acc
    while acc < learn_to and steps[0] < max_steps:
        for _ in range(5):
            step(1.0)
        steps[0] += 5
        acc = learned = dev_acc()
    for group in opt.param_groups:  # soften gently: small steps, checked after each one
        group["lr"] = lr / 10
    while acc > soften_to and steps[1] < max_steps:
        step(label_accuracy)
        steps[1] += 1
        acc = dev_acc()
    return {
        "steps": sum(steps),
        "learn_steps": steps[0],
        "soften_steps": steps[1],
        "dev_p_correct_learned": learned,
        "dev_p_correct": acc,
    }


@dataclass(frozen=True)
class TinySettings:
    """Sizes of the tiny experiment (defaults: about a minute per seed on 2 CPU cores)."""

    n_sft: int = 256
    n_dev: int = 128
    n_pool: int = 128
    n_heldout: int = 192
    rounds: int = 10
    n: int = 4
    batch: int = 64
    lr: float = 1e-3
    beta: float = 0.5
    gate: str = "uniform"
    dtype: str = "float32"
    verifiers: tuple[str, ...] = ("synthetic:0.9:2", "synthetic:0.2:2", "synthetic:0.5:0.05")

    def loop_config(self, seed: int) -> LoopConfig:
        """The self-DPO loop's configuration for ``seed`` (two-token letter answers, exact
        choice probabilities on the held-out questions)."""
        return LoopConfig(
            rounds=self.rounds,
            n=self.n,
            gate=self.gate,
            batch=self.batch,
            lr=self.lr,
            beta=self.beta,
            max_new_tokens=2,
            gen_batch=64,
            train_batch=32,
            choice_probs=True,
            greedy_eval=False,
            seed=seed,
        )


def start_student(work: Path, seed: int, s: TinySettings, quiet: bool) -> tuple[Path, dict]:
    """Build the tiny student for ``seed``, warm it up, save it as the self-DPO start."""

    raw = build_tiny_student(work / f"tiny-init-{seed}", seed=seed)
    student = load_student(raw, device="cpu")
    sft = synthetic_task(s.n_sft, seed, split="sft")
    dev = synthetic_task(s.n_dev, seed, split="dev")
    warm = supervised_warmup(student, sft, dev, seed=seed)
    start = work / f"tiny-start-{seed}"
    student.model.save_pretrained(start)
    for f in raw.iterdir():
        if f.name not in ("config.json", "generation_config.json") and not f.name.endswith(
            ".safetensors"
        ):
            (start / f.name).write_bytes(f.read_bytes())
    if not quiet:
        sys.stderr.write(f"[tiny] seed {seed}: warm-up {warm['steps']} steps\n")
    return start, warm


def _start_task(work: Path, seed: int, s: TinySettings, quiet: bool) -> tuple[Path, dict]:
    """One seed's warm-up (a worker's task: threads pinned as in the one-process path)."""
    import torch

    torch.set_num_threads(1)
    return start_student(work, seed, s, quiet)


def _run_task(work: Path, start: Path, seed: int, k: int, s: TinySettings, quiet: bool) -> dict:
    """Self-DPO from ``start`` with the ``k``-th verifier; its run report."""
    import torch

    torch.set_num_threads(1)  # tiny matrices: more threads only add contention
    spec = s.verifiers[k]
    if not quiet:
        sys.stderr.write(f"[tiny] seed {seed}, verifier {spec}\n")
    pool = synthetic_task(s.n_pool, seed, split="pool")
    held = synthetic_task(s.n_heldout, seed, split="heldout")
    st = load_student(start, device="cpu", dtype=s.dtype)
    out = work / f"seed-{seed}" / f"run-{k}"
    log = run_loop(
        st, pool, held, make_verifier(spec, seed=seed), s.loop_config(seed), out, quiet=quiet
    )
    return run_report(out, log, n=s.n, gate=s.gate, spec=spec, K=4)


def _run_all(work: Path, seeds: Sequence[int], s: TinySettings, quiet: bool, workers: int):
    """Warm-ups and runs, in this process (``workers == 1``) or in ``workers`` spawned
    processes. Every run is the same single-threaded computation either way, seeded by its own
    (seed, verifier), so the results are the same: only the wall time changes."""
    nv = len(s.verifiers)
    if workers == 1:
        warm, reports = {}, {}
        for seed in seeds:
            start, warm[seed] = _start_task(work, seed, s, quiet)
            for k in range(nv):
                reports[seed, k] = _run_task(work, start, seed, k, s, quiet)
        return warm, reports
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    warm, reports, jobs = {}, {}, {}
    ctx = mp.get_context("spawn")  # torch and JAX are not fork-safe
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        try:
            for seed in seeds:
                jobs[ex.submit(_start_task, work, seed, s, quiet)] = ("start", seed, None)
            while jobs:
                done, _ = wait(jobs, return_when=FIRST_COMPLETED)
                for f in done:
                    kind, seed, k = jobs.pop(f)
                    if kind == "start":
                        start, warm[seed] = f.result()
                        for k in range(nv):
                            job = ex.submit(_run_task, work, start, seed, k, s, quiet)
                            jobs[job] = ("run", seed, k)
                    else:
                        reports[seed, k] = f.result()
        except BaseException:
            ex.shutdown(wait=True, cancel_futures=True)
            raise
    return warm, reports


def run_tiny(
    workdir: str | Path,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    settings: TinySettings | None = None,
    quiet: bool = True,
    workers: int = 1,
) -> dict:
    """The tiny experiment over ``seeds``: per verifier, the pooled comparison report
    (``empirical.compare.compare_seeds``) with run-to-run intervals. ``workers`` > 1 runs the
    seeds' warm-ups and the (seed, verifier) runs in that many processes (same results)."""
    tic = time.perf_counter()
    s = settings or TinySettings()
    work = Path(workdir)
    workers = max(1, min(int(workers), len(seeds) * len(s.verifiers)))
    warm, done = _run_all(work, seeds, s, quiet, workers)
    reports = {v: [done[seed, k] for seed in seeds] for k, v in enumerate(s.verifiers)}
    starts = [
        {"seed": seed, **warm[seed], "heldout_p_correct": done[seed, 0]["heldout"]["start"]}
        for seed in seeds
    ]
    return {
        "verifiers": [compare_seeds(v, reports[v]) for v in s.verifiers],
        "start": starts,
        "seeds": list(seeds),
        "settings": {k: getattr(s, k) for k in s.__dataclass_fields__},
        "conventions": {
            "step": "theta <- AdamW step on sum_x (count_x / B) l_x over the B replay draws, "
            "void draws counting in B (paper/model.md's step, with AdamW for SGD)",
            "intervals": "mean over seeds with a 95% Student-t interval of the run-to-run spread",
            "fit": "alpha_hat, kappa_hat fitted on round 1's samples (the student's own answers)",
        },
        "seconds_per_round": {
            k: float(np.mean([r["seconds"][k] for v in reports.values() for r in v]))
            for k in ("total", "sample", "score", "train", "evaluate")
        },
        "workers": workers,
        "seconds": round(time.perf_counter() - tic, 1),
    }


def format_report(res: dict) -> str:
    """The tiny experiment's comparison as text."""
    st = res["start"]
    p0 = ", ".join(f"{x['heldout_p_correct']:.3f}" for x in st)
    split = {k: v for k, v in res["seconds_per_round"].items() if k != "total"}
    return "\n".join(
        [
            f"tiny Qwen2.5-VL student over seeds {res['seeds']}: held-out p_correct at the start "
            f"of self-DPO {p0}",
            format_table(res["verifiers"]),
            f"({res['seconds']:.0f} s; per round: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in split.items())
            + "; pred: theory's drift sign at the fitted (alpha_hat, kappa_hat), '0?' when "
            "its CI straddles the threshold; meas: sign of the change when its interval over "
            "seeds excludes 0)",
        ]
    )
