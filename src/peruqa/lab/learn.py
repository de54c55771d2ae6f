"""Fitting the ranker and the decision: L2 logistic regression by Newton steps, numpy only.

Newton's method on a convex loss has no learning rate, no random start and no batches,
so the same rows always give the same weights: ``peruqa train`` is reproducible without a
seed doing any work, and serving needs nothing beyond numpy.
"""

from __future__ import annotations

import numpy as np

from peruqa.qa.model import Linear

_ITERATIONS = 50
_TOLERANCE = 1e-9


def standardise(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale per column; a constant column keeps scale 1 (it weighs nothing)."""
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray, l2: float = 1.0
) -> Linear:
    """Weighted L2 logistic regression on standardised ``features`` (bias unpenalised).

    Standardising first makes one penalty treat every feature alike; the returned model
    keeps mean and scale, so it applies to raw features.
    """
    mean, scale = standardise(features)
    design = np.hstack([(features - mean) / scale, np.ones((len(features), 1))])
    target = labels.astype(np.float64)
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0
    beta = np.zeros(design.shape[1])
    for _ in range(_ITERATIONS):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30.0, 30.0)))
        gradient = design.T @ (weights * (p - target)) + penalty * beta
        curvature = weights * p * (1.0 - p)
        hessian = (design * curvature[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < _TOLERANCE:
            break
    return Linear(
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in beta[:-1]),
        float(beta[-1]),
    )


def balanced_weights(answerable: np.ndarray, sources: np.ndarray, base: np.ndarray) -> np.ndarray:
    """``base`` rescaled so that within each source answerable and unanswerable questions
    weigh the same: SQuAD's train subset is 93 % answerable, its dev subset 48 %, and the
    decision's probability should not learn either base rate (0.5 means even odds)."""
    weights = base.astype(np.float64).copy()
    for source in np.unique(sources):
        mask = sources == source
        yes = int((mask & answerable).sum())
        no = int((mask & ~answerable).sum())
        if yes and no:
            weights[mask & answerable] *= 0.5 * mask.sum() / yes
            weights[mask & ~answerable] *= 0.5 * mask.sum() / no
    return weights


def fit_conditional_logit(
    features: np.ndarray,
    group: np.ndarray,
    positive: np.ndarray,
    weights: np.ndarray,
    l2: float,
    paired: bool = False,
) -> Linear:
    """A ranker: softmax over each question's candidates, fitted so that the candidates
    whose quote holds the answer share the probability (Newton steps, L2 on standardised
    features).

    Only differences between a question's candidates matter, so anything constant within a
    question (its language, its type, how much of it the library knows) cannot shift one
    candidate over another; a pointwise model learnt such offsets and, in a library with
    documents in both languages, ranked every other-language sentence first. ``group``
    numbers each row's question (rows of a question are contiguous); ``weights`` are per
    row, constant within a question; questions without a positive row are skipped.

    With ``paired``, the second half of the columns are the first half times a flag
    (``features.with_interactions``): they keep mean 0 and their base column's scale. Their
    own scale would be tiny (the flag is rare), so the penalty would barely hold them, and
    a few hundred Spanish questions then taught slopes of 10 and more.
    """
    mean, scale = standardise(features)
    if paired:
        half = features.shape[1] // 2
        mean[half:] = 0.0
        scale[half:] = scale[:half]
    design = (features - mean) / scale
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    positives = np.add.reduceat(positive.astype(np.float64), starts)
    keep_group = positives > 0
    keep = np.repeat(keep_group, np.diff(np.r_[starts, len(group)]))
    design, positive, weights = design[keep], positive[keep], weights[keep]
    group = group[keep]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, len(group)])
    target = positive / np.repeat(np.add.reduceat(positive.astype(np.float64), starts), sizes)

    def softmax(beta: np.ndarray) -> tuple[np.ndarray, float]:
        z = design @ beta
        z = z - np.repeat(np.maximum.reduceat(z, starts), sizes)
        e = np.exp(z)
        totals = np.add.reduceat(e, starts)
        p = e / np.repeat(totals, sizes)
        # Loss: weighted cross-entropy against the target shares, plus the penalty.
        log_p = z - np.repeat(np.log(totals), sizes)
        loss = -float(np.sum(weights * target * log_p)) + 0.5 * l2 * float(beta @ beta)
        return p, loss

    beta = np.zeros(design.shape[1])
    p, loss = softmax(beta)
    for _ in range(_ITERATIONS):
        gradient = design.T @ (weights * (p - target)) + l2 * beta
        pooled = np.add.reduceat(design * p[:, None], starts)  # per question: sum p x
        hessian = (design * (weights * p)[:, None]).T @ design
        hessian -= (pooled * weights[starts][:, None]).T @ pooled
        hessian += np.diag(np.full(len(beta), l2 + 1e-9))
        step = np.linalg.solve(hessian, gradient)
        # Plain Newton overshoots on this loss far from the optimum: halve the step
        # until the loss falls (deterministic, so the fit stays reproducible).
        for _halving in range(30):
            p_new, loss_new = softmax(beta - step)
            if loss_new <= loss:
                break
            step = step / 2
        beta, p, loss = beta - step, p_new, loss_new
        if np.abs(step).max() < _TOLERANCE:
            break
    return Linear(
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in beta),
        0.0,
    )
