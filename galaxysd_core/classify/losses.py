"""Binary classification losses: BCE and focal loss (Lin et al. 2017).

The paper's second baseline reweights rare positives with focal loss
(Sec. 4.2). With ``gamma = 0`` and ``alpha = None`` focal loss is plain BCE;
with ``gamma = 0`` and an ``alpha`` it is BCE weighted by ``alpha`` on
positives and ``1 - alpha`` on negatives.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F  # noqa: N812 - the usual torch alias

from galaxysd_core.errors import ConfigError


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
) -> torch.Tensor:
    """Mean binary focal loss ``-alpha_t (1 - p_t)^gamma log p_t``.

    Parameters
    ----------
    logits : Tensor
        Raw scores, any shape.
    targets : Tensor
        0/1 labels of the same shape.
    alpha : float or None, default 0.25
        Weight of the positive class (negatives get ``1 - alpha``); None
        weights both classes 1.
    gamma : float, default 2.0
        Focusing exponent; 0 gives (weighted) BCE.

    Returns
    -------
    Tensor
        A scalar.
    """
    if gamma < 0:
        raise ConfigError(f"focal loss gamma must be >= 0, got {gamma}")
    if alpha is not None and not 0 <= alpha <= 1:
        raise ConfigError(f"focal loss alpha must be in [0, 1], got {alpha}")
    targets = targets.to(logits.dtype)
    # Computed from logits for numerical stability; ce = -log p_t.
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    loss = ce
    if gamma > 0:
        p = torch.sigmoid(logits)
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = loss * (1 - p_t).pow(gamma)
    if alpha is not None:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss.mean()


def bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy from logits (the paper's baseline)."""
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))
