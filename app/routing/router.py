"""Route instances between the LM judge and humans under a human budget.

A calibration slice is labelled by humans and by the judge. On it, a logistic regression learns
P(the judge agrees with the humans | instance features) (judge confidence and swap-consistency, the
reward model's margin, prompt length, tags, any extra number), a linear performance-prediction
model in the spirit of HyPER (Miranda et al. 2024, "Hybrid Preferences: Learning to Route Instances
for Human vs. AI Feedback"). A threshold on that probability is chosen so that the calibration
instances it accepts agree with their humans at least 1 - alpha of the time, taking the largest such
set: the selective-evaluation rule of "Trust or Escalate" (Jung et al. 2024), here without its
finite-sample correction, so the guarantee holds on the calibration slice, and the benchmark checks
it on held-out items.

`route` spends a human budget (a share of the instances) on the instances with the lowest predicted
agreement; the rest keep the judge's label. It also says which of those fall under the threshold
(judge labels the calibration does not vouch for) and what share of humans alpha alone would need.
"""

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class InstanceFeatures:
    """What the router knows of one instance before any human sees it."""

    judge_confidence: float
    swap_consistent: bool
    judge_tie: bool = False
    rm_margin: float | None = None  # the active reward model's r(a) - r(b); None without one
    prompt_length: int = 0  # characters
    tags: tuple[str, ...] = ()
    extra: dict[str, float] = field(default_factory=dict)  # any other number, same keys for every instance


@dataclass
class FeatureEncoder:
    """Instance features to a standardised matrix; columns and scales fixed on the calibration slice."""

    numeric: list[str]
    tags: list[str]
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, rows: Sequence[InstanceFeatures], *, min_tag_count: int = 5) -> "FeatureEncoder":
        if not rows:
            raise ValueError("no calibration instances")
        numeric = ["judge_confidence", "swap_consistent", "judge_tie", "log_prompt_length"]
        if any(r.rm_margin is not None for r in rows):
            numeric += ["rm_abs_margin", "rm_missing"]
        numeric += sorted({key for r in rows for key in r.extra})
        counts = Counter(tag for r in rows for tag in set(r.tags))
        tags = sorted(tag for tag, count in counts.items() if count >= min_tag_count)
        encoder = cls(numeric, tags, np.zeros(len(numeric) + len(tags)), np.ones(len(numeric) + len(tags)))
        raw = encoder._raw(rows)
        encoder.mean = raw.mean(0)
        scale = raw.std(0)
        encoder.scale = np.where(scale > 1e-12, scale, 1.0)
        return encoder

    def _raw(self, rows: Sequence[InstanceFeatures]) -> np.ndarray:
        matrix = np.zeros((len(rows), len(self.numeric) + len(self.tags)))
        where_tag = {tag: len(self.numeric) + k for k, tag in enumerate(self.tags)}
        for n, row in enumerate(rows):
            values = {
                "judge_confidence": float(row.judge_confidence),
                "swap_consistent": float(row.swap_consistent),
                "judge_tie": float(row.judge_tie),
                "log_prompt_length": math.log1p(max(row.prompt_length, 0)),
                "rm_abs_margin": abs(row.rm_margin) if row.rm_margin is not None else 0.0,
                "rm_missing": float(row.rm_margin is None),
                **row.extra,
            }
            for k, name in enumerate(self.numeric):
                matrix[n, k] = values.get(name, 0.0)
            for tag in row.tags:
                if tag in where_tag:
                    matrix[n, where_tag[tag]] = 1.0
        return matrix

    def transform(self, rows: Sequence[InstanceFeatures]) -> np.ndarray:
        return (self._raw(rows) - self.mean) / self.scale

    @property
    def names(self) -> list[str]:
        return [*self.numeric, *(f"tag:{t}" for t in self.tags)]


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, iterations: int = 50) -> np.ndarray:
    """L2-penalised logistic regression by Newton's method; returns [intercept, coefficients...].

    The intercept is not penalised. The penalty keeps a slice where the judge always (or never)
    agrees finite.
    """
    design = np.hstack([np.ones((len(x), 1)), x])
    penalty = np.full(design.shape[1], l2)
    penalty[0] = 1e-6
    weights = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ weights)))
        gradient = design.T @ (p - y) + penalty * weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-10:
            break
    return weights


def choose_threshold(p_agree: np.ndarray, agree: np.ndarray, *, alpha: float) -> float:
    """The lowest threshold t such that the instances with p_agree >= t agree at >= 1 - alpha.

    Largest accepted set that meets the bound on these instances; +inf (accept none) when no set does.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    p_agree = np.asarray(p_agree, dtype=float)
    agree = np.asarray(agree, dtype=float)
    levels, inverse = np.unique(-p_agree, return_inverse=True)  # descending probabilities
    agreed = np.bincount(inverse, weights=agree, minlength=len(levels)).cumsum()
    counted = np.bincount(inverse, minlength=len(levels)).cumsum()
    ok = np.flatnonzero(agreed >= (1.0 - alpha) * counted - 1e-9)
    if not len(ok):
        return math.inf
    return float(-levels[ok[-1]])


@dataclass
class Routing:
    """Indices into the routed instances."""

    to_human: np.ndarray  # the human budget, lowest predicted agreement first
    to_judge: np.ndarray  # keep the judge's label
    below_threshold: np.ndarray  # judge labels kept for want of budget that the threshold would not accept
    human_share_for_alpha: float  # share of these instances under the threshold


@dataclass
class Router:
    encoder: FeatureEncoder
    weights: np.ndarray  # intercept, then one per encoder column
    threshold: float  # on P(agree)
    alpha: float
    calibration_size: int
    calibration_agreement: float  # judge-human agreement over the whole slice
    accepted_share: float  # share of the slice the threshold accepts
    accepted_agreement: float  # agreement among those (>= 1 - alpha when any is accepted)

    def predict(self, rows: Sequence[InstanceFeatures]) -> np.ndarray:
        """P(the judge agrees with humans) per instance."""
        if not rows:
            return np.zeros(0)
        logits = self.weights[0] + self.encoder.transform(rows) @ self.weights[1:]
        return 1.0 / (1.0 + np.exp(-logits))

    def route(
        self, rows: Sequence[InstanceFeatures], *, human_budget: float, rng: np.random.Generator | None = None
    ) -> Routing:
        return route(self.predict(rows), threshold=self.threshold, human_budget=human_budget, rng=rng)

    def coefficients(self) -> dict[str, float]:
        """Weights on the standardised features: which ones the router relies on."""
        return {"intercept": float(self.weights[0])} | {
            name: float(w) for name, w in zip(self.encoder.names, self.weights[1:], strict=True)
        }


def fit_router(
    rows: Sequence[InstanceFeatures],
    agree: Sequence[bool] | np.ndarray,
    *,
    alpha: float = 0.1,
    l2: float = 1.0,
    min_tag_count: int = 5,
) -> Router:
    """Learn P(judge agrees with humans) on the calibration slice and the threshold for 1 - alpha."""
    agree = np.asarray(agree, dtype=float)
    if len(agree) != len(rows):
        raise ValueError(f"{len(rows)} instances but {len(agree)} agreement labels")
    encoder = FeatureEncoder.fit(rows, min_tag_count=min_tag_count)
    weights = fit_logistic(encoder.transform(rows), agree, l2=l2)
    router = Router(encoder, weights, math.inf, alpha, len(rows), float(agree.mean()), 0.0, math.nan)
    p_agree = router.predict(rows)
    router.threshold = choose_threshold(p_agree, agree, alpha=alpha)
    accepted = p_agree >= router.threshold
    router.accepted_share = float(accepted.mean())
    router.accepted_agreement = float(agree[accepted].mean()) if accepted.any() else math.nan
    return router


def route(
    p_agree: np.ndarray,
    *,
    human_budget: float,
    threshold: float = -math.inf,
    rng: np.random.Generator | None = None,
) -> Routing:
    """Send round(human_budget * n) instances with the lowest P(agree) to humans (ties at random
    when an rng is given), the rest to the judge."""
    if not 0.0 <= human_budget <= 1.0:
        raise ValueError(f"human_budget must be a share in [0, 1], got {human_budget}")
    p_agree = np.asarray(p_agree, dtype=float)
    n = len(p_agree)
    jitter = rng.random(n) if rng is not None else np.arange(n, dtype=float)
    order = np.lexsort((jitter, p_agree))  # lowest predicted agreement first
    k = round(human_budget * n)
    to_human, to_judge = np.sort(order[:k]), np.sort(order[k:])
    below = to_judge[p_agree[to_judge] < threshold]
    share = float((p_agree < threshold).mean()) if n else 0.0
    return Routing(to_human, to_judge, below, share)
