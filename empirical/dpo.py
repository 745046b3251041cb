"""The DPO loss in torch (THEORY.md): l = -log sigmoid(h), h = beta (logratio_w - logratio_l).

Same formula as TRL's ``DPOTrainer`` sigmoid loss: per-token log-probs summed over the
completion mask give ``policy_logp`` and ``ref_logp`` of the chosen (w) and rejected (l)
answers, and the loss is ``-logsigmoid(beta * ((pi_w - ref_w) - (pi_l - ref_l)))``.
"""

from __future__ import annotations

from typing import Any


def dpo_margin(policy_w: Any, policy_l: Any, ref_w: Any, ref_l: Any, beta: float) -> Any:
    """h = beta [(log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l))]."""
    return beta * ((policy_w - ref_w) - (policy_l - ref_l))


def dpo_loss(policy_w: Any, policy_l: Any, ref_w: Any, ref_l: Any, beta: float) -> Any:
    """Per-pair DPO loss -log sigmoid(h) (torch tensors, any shape)."""
    import torch.nn.functional as F

    return -F.logsigmoid(dpo_margin(policy_w, policy_l, ref_w, ref_l, beta))
