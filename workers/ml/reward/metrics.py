"""Pairwise metrics from score differences (chosen minus rejected)."""

import itertools
import math

import torch


def pairwise_metrics(margins: torch.Tensor, *, bins: int = 10) -> dict[str, float]:
    """accuracy (ties count half), log loss of P(chosen) = sigmoid(margin), and expected calibration
    error over confidence bins (Guo et al., 2017: sum over bins of |accuracy - confidence| weighted by
    the bin's share), with confidence = sigmoid(|margin|) for the side the model prefers."""
    n = int(margins.numel())
    if n == 0:
        return {"accuracy": math.nan, "log_loss": math.nan, "ece": math.nan, "n": 0}
    margins = margins.double()
    correct = (margins > 0).double() + 0.5 * (margins == 0).double()
    log_loss = torch.nn.functional.softplus(-margins).mean().item()
    confidence = torch.sigmoid(margins.abs())
    edges = torch.linspace(0.5, 1.0, bins + 1)
    ece = 0.0
    for low, high in itertools.pairwise(edges):
        in_bin = (confidence >= low) & ((confidence < high) | (high == 1.0))
        if in_bin.any():
            share = in_bin.double().mean().item()
            ece += share * abs(correct[in_bin].mean().item() - confidence[in_bin].mean().item())
    return {"accuracy": correct.mean().item(), "log_loss": log_loss, "ece": ece, "n": n}
