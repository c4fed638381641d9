"""The anomalous-voter check: are a voter's votes, read in order, probable under the current ratings?

Per voter, Wald's sequential probability ratio test (Wald 1945, "Sequential tests of statistical
hypotheses", Annals of Mathematical Statistics 16(2), 117-186) sums the log-likelihood ratio
log P(vote | H1) - log P(vote | H0) over the voter's votes:

- H0, the voter follows the ratings: Bradley-Terry on the rating scale of `app.leaderboard.ratings`,
  with ties as Davidson (1970, "On extending the Bradley-Terry model to accommodate ties in paired
  comparison experiments", JASA 65(329), 317-328) has them: with d = (r_a - r_b) / ELO_SCALE,
  P(a) : P(b) : P(tie) = e^(d/2) : e^(-d/2) : nu. It is the model in which a tie is worth half a win to
  each side, as the ratings count it (wins plus half the ties are what the strengths are fitted to);
  without ties it is plain Bradley-Terry. nu is set so that the model's tie rate is the votes' own.
  Scoring a tie as half of each outcome's log-likelihood instead is not a probability: honest voters
  who tie now and then drift towards a flag.
- H1 `random` (the default): a coin flip between a and b, ties at the votes' tie rate. Random voters
  drift up, adversarial ones (picking the lower rated) faster still, honest ones drift down.
- H1 `flipped`: the voter picks against the ratings, a and b swapped. The quickest on adversaries, but
  blind to coin flips (their expected ratio is zero).

The sum reaching log((1 - beta) / alpha) flags the voter; reaching log(beta / (1 - alpha)) clears them;
in between, the test goes on. Wald's bounds keep the chance of flagging a voter who follows H0 below
alpha / (1 - beta), and of clearing an H1 voter below beta / (1 - alpha). Votes on a system without a
rating are skipped: they carry no evidence either way.

The ratings are fitted on everyone's votes, flagged voters' included: re-run the check after an admin
excludes voters and the leaderboard is recomputed. A voter cleared early is not re-examined by a run
over the same votes; to watch for a voter who turns later, run the check on the votes after the ones
counted in `VoterCheck.votes`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import brentq

from app.leaderboard.ratings import ELO_SCALE

Decision = Literal["flag", "ok", "continue"]
Alternative = Literal["random", "flipped"]
# Both vocabularies: a/b/tie, and the arena's stored winners (FastChat's names).
OUTCOME_SCORES: dict[str, float] = {
    "a": 1.0,
    "b": 0.0,
    "tie": 0.5,
    "model_a": 1.0,
    "model_b": 0.0,
    "tie (bothbad)": 0.5,
}


@dataclass(frozen=True)
class VoterCheck:
    """The test's decision for one voter, the log-likelihood ratio when it was made (or after the last
    vote, while it goes on), and the votes read up to then."""

    decision: Decision
    statistic: float
    votes: int


@dataclass(frozen=True)
class Thresholds:
    upper: float  # flag at or above
    lower: float  # clear at or below


def thresholds(alpha: float, beta: float) -> Thresholds:
    """Wald's boundaries for error rates alpha (flagging an honest voter) and beta (missing an H1 one)."""
    if not (0 < alpha < 1 and 0 < beta < 1 and alpha + beta < 1):
        raise ValueError(f"alpha and beta must lie in (0, 1) with alpha + beta < 1, not {alpha} and {beta}")
    return Thresholds(upper=float(np.log((1 - beta) / alpha)), lower=float(np.log(beta / (1 - alpha))))


def _ratings_of(ratings: Mapping[str, float], systems: Sequence[str]) -> np.ndarray:
    return np.fromiter((ratings.get(s, np.nan) for s in systems), dtype=float, count=len(systems))


def outcome_scores(outcomes: Sequence[str]) -> np.ndarray:
    """1 when a won, 0 when b won, 0.5 for a tie."""
    scores = np.fromiter((OUTCOME_SCORES.get(o, np.nan) for o in outcomes), dtype=float, count=len(outcomes))
    unknown = np.flatnonzero(np.isnan(scores))
    if unknown.size:
        known = ", ".join(OUTCOME_SCORES)
        raise ValueError(f"vote {unknown[0]} has outcome {outcomes[unknown[0]]!r}; expected one of {known}")
    return scores


def _logits(ratings: Mapping[str, float], systems_a: Sequence[str], systems_b: Sequence[str]) -> np.ndarray:
    """(r_a - r_b) in logits; NaN where a system has no rating."""
    return (_ratings_of(ratings, systems_a) - _ratings_of(ratings, systems_b)) / ELO_SCALE


def tie_weight(d: np.ndarray, tie_rate: float) -> float:
    """Davidson's nu for which the model's mean tie probability over these logit gaps is `tie_rate`."""
    if not 0 <= tie_rate < 1:
        raise ValueError(f"tie_rate must lie in [0, 1), not {tie_rate}")
    if tie_rate == 0 or d.size == 0:
        return 0.0
    # Few distinct gaps (one per pair of systems): solve on those, weighted by how often each occurs.
    gaps, counts = np.unique(np.abs(d), return_counts=True)
    spread = 2 * np.cosh(gaps / 2)

    def excess(log_nu: float) -> float:
        nu = np.exp(log_nu)
        return float(np.average(nu / (spread + nu), weights=counts)) - tie_rate

    # The mean tie probability rises from 0 to 1 with nu, so the root is unique.
    return float(np.exp(brentq(excess, -40.0, 40.0, xtol=1e-10)))


def _log_probabilities(d: np.ndarray, y: np.ndarray, nu: float) -> np.ndarray:
    """log P(vote) under Davidson's model: a, b, tie in proportion e^(d/2) : e^(-d/2) : nu."""
    log_nu = np.log(nu) if nu > 0 else -np.inf
    with np.errstate(invalid="ignore"):  # NaN gaps (unrated systems) stay NaN
        log_total = np.logaddexp(np.logaddexp(d / 2, -d / 2), log_nu)
    return np.where(y == 0.5, log_nu, (2 * y - 1) * d / 2) - log_total


def _observed_tie_rate(y: np.ndarray, tie_rate: float | None) -> float:
    observed = float(np.mean(y == 0.5)) if y.size else 0.0
    if tie_rate is None:
        return observed
    if tie_rate == 0 and observed > 0:
        raise ValueError("the votes include ties, so tie_rate cannot be 0")
    return tie_rate


def vote_probabilities(
    ratings: Mapping[str, float],
    systems_a: Sequence[str],
    systems_b: Sequence[str],
    outcomes: Sequence[str],
    *,
    tie_rate: float | None = None,
) -> np.ndarray:
    """Each vote's probability under the ratings (H0); NaN where a system has no rating. `tie_rate`: the
    model's mean tie rate; by default the rated votes' own."""
    d, y = _logits(ratings, systems_a, systems_b), outcome_scores(outcomes)
    rated = ~np.isnan(d)
    nu = tie_weight(d[rated], _observed_tie_rate(y[rated], tie_rate))
    return np.exp(_log_probabilities(d, y, nu))


def log_likelihood_ratios(
    d: np.ndarray, y: np.ndarray, *, tie_rate: float, alternative: Alternative = "random"
) -> np.ndarray:
    """log P(vote | H1) - log P(vote | H0) per vote, from the logit gaps d = (r_a - r_b) / ELO_SCALE, the
    outcome scores y (1 a, 0 b, 0.5 tie) and the mean tie rate."""
    log_h0 = _log_probabilities(d, y, tie_weight(d, tie_rate))
    if alternative == "random":
        with np.errstate(divide="ignore"):  # log 0 for ties when there are none: never picked below
            log_tie, log_side = np.log(tie_rate), np.log((1 - tie_rate) / 2)
        return np.where(y == 0.5, log_tie, log_side) - log_h0
    if alternative == "flipped":
        return (1 - 2 * y) * d  # a and b swapped; a tie is as likely either way
    raise ValueError(f"alternative must be 'random' or 'flipped', not {alternative!r}")


def check_voters(
    ratings: Mapping[str, float],
    voters: Sequence[str],
    systems_a: Sequence[str],
    systems_b: Sequence[str],
    outcomes: Sequence[str],
    *,
    alpha: float = 0.001,
    beta: float = 0.1,
    min_votes: int = 10,
    alternative: Alternative = "random",
    tie_rate: float | None = None,
) -> dict[str, VoterCheck]:
    """Wald's test for every voter at once. The votes are four columns, one row per vote, in the order
    they were cast (only each voter's own order matters); ratings are system -> score on the 400-point
    scale. No decision is taken before `min_votes` votes. `tie_rate` (the models' mean tie rate) is by
    default the rated votes' own: pass it when checking a few voters' votes alone."""
    n = len(voters)
    if not len(systems_a) == len(systems_b) == len(outcomes) == n:
        raise ValueError("voters, systems_a, systems_b and outcomes must have one entry per vote")
    bounds = thresholds(alpha, beta)
    codes: dict[str, int] = {}
    voter_of = np.fromiter((codes.setdefault(v, len(codes)) for v in voters), dtype=np.int64, count=n)
    d, y = _logits(ratings, systems_a, systems_b), outcome_scores(outcomes)
    rated = ~np.isnan(d)
    # Group each voter's votes together, keeping their order (a stable sort), then sum within groups.
    order = np.argsort(voter_of[rated], kind="stable")
    group = voter_of[rated][order]
    d, y = d[rated][order], y[rated][order]
    llr = log_likelihood_ratios(d, y, tie_rate=_observed_tie_rate(y, tie_rate), alternative=alternative)
    counts = np.bincount(group, minlength=len(codes))
    starts = np.cumsum(counts) - counts
    running = np.cumsum(llr)
    before = np.concatenate([[0.0], running])[starts]
    statistic = running - np.repeat(before, counts)
    position = np.arange(group.size) - np.repeat(starts, counts) + 1

    decisions = np.full(len(codes), "continue", dtype=object)
    final = np.zeros(len(codes))
    has_votes = counts > 0
    final[has_votes] = statistic[(starts + counts - 1)[has_votes]]
    read = counts.copy()
    crossed = np.flatnonzero(
        (position >= min_votes) & ((statistic >= bounds.upper) | (statistic <= bounds.lower))
    )
    # The first crossing of each voter is the test's decision; what follows it is not read.
    decided_voters, first = np.unique(group[crossed], return_index=True)
    at = crossed[first]
    decisions[decided_voters] = np.where(statistic[at] >= bounds.upper, "flag", "ok")
    final[decided_voters] = statistic[at]
    read[decided_voters] = position[at]
    return {
        voter: VoterCheck(decision=decisions[code], statistic=float(final[code]), votes=int(read[code]))
        for voter, code in codes.items()
    }
