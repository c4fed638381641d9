"""The routing benchmark on PandaLM: human budgets against the judge, with held-out human consensus.

Data: the PandaLM test set (999 items, 3 human labels each: 0 tie, 1 first better, 2 second better)
and two LM judges' verdicts on the same items (GPT-3.5 and PandaLM-7B, one order each). Per seed:
- every item reveals one random annotator's label when a human is asked; the other two are held out,
  and their label, when they agree, is the reference (items where they disagree are not scored);
- the primary judge labels every item; the second judge's verdict is a feature. The data hold one
  order per judge, so there is no swap-consistency to measure: the agreement of the two judges
  stands in for it (`extra["judges_agree"]`), and `swap_consistent` is left constant;
- for a human budget b (share of items given to a human): `routed` spends min(b, calibration) on a
  random calibration slice labelled by the human and the judge, fits the router on it, and sends the
  rest of the budget to the items with the lowest predicted agreement; `random` gives b of the items,
  at random, to humans; `all-judge` and `all-human` are the two ends.
Reported: agreement of the final labels with the held-out consensus, per budget and method.
"""

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.routing.router import InstanceFeatures, fit_router
from app.selection.simulation import PANDALM_LABELS, OracleError, read_pandalm

METHODS = ("routed", "random", "all-judge", "all-human")
GPT_VERDICTS = {"1": 1, "2": 2, "tie": 0, "garbage": 0}


@dataclass
class RoutingData:
    features: list[InstanceFeatures]
    judge: np.ndarray  # primary judge's label per item: 0 tie, 1, 2
    humans: np.ndarray  # items x 3 human labels


def _read_judge(path: Path, key: str) -> dict[int, str]:
    if not path.is_file():
        raise OracleError(f"no judge verdicts at {path}")
    try:
        return {int(row["idx"]): str(row[key]).strip().lower() for row in json.loads(path.read_text("utf-8"))}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise OracleError(f"{path} is not a PandaLM judge file with {key!r}: {exc}") from exc


def _label(verdict: str) -> int:
    return GPT_VERDICTS.get(verdict, 0) if not verdict.isdigit() else int(verdict)


def _words(text: str) -> set[str]:
    return set(text.lower().split())


def load_pandalm_routing(data_dir: Path, *, judge: str = "gpt35") -> RoutingData:
    """Items, the primary judge's labels and router features; `judge` is gpt35 or pandalm7b."""
    rows = read_pandalm(data_dir / "pandalm_testset_v1.json")
    gpt = _read_judge(data_dir / "pandalm_judge_gpt35_testset_v1.json", "gpt_result")
    panda = _read_judge(data_dir / "pandalm_judge_pandalm7b_testset_v1.json", "pandalm_result")
    if judge not in ("gpt35", "pandalm7b"):
        raise ValueError(f"unknown judge {judge!r}; use gpt35 or pandalm7b")
    primary, second = (gpt, panda) if judge == "gpt35" else (panda, gpt)
    features, labels, humans = [], [], []
    for row in rows:
        idx = int(row["idx"])  # type: ignore[call-overload]
        if idx not in primary or idx not in second:
            raise OracleError(f"item {idx} has no verdict from one of the judges")
        verdict, other = primary[idx], second[idx]
        label, other_label = _label(verdict), _label(other)
        first, second_text = str(row["response1"]), str(row["response2"])
        shared = _words(first) | _words(second_text)
        overlap = len(_words(first) & _words(second_text)) / len(shared) if shared else 1.0
        a, b = str(row["cmp_key"]).split("_", 1)
        features.append(
            InstanceFeatures(
                judge_confidence=0.0 if verdict == "garbage" else 0.5 if label == 0 else 1.0,
                swap_consistent=True,
                judge_tie=label == 0,
                prompt_length=len(str(row["instruction"])) + len(str(row.get("input", ""))),
                tags=(f"system:{a}", f"system:{b}", f"app:{row.get('motivation_app', '')}"),
                extra={
                    "judges_agree": float(label == other_label),
                    "second_judge_tie": float(other_label == 0),
                    "length_ratio": abs(math.log((len(first) + 1) / (len(second_text) + 1))),
                    "word_overlap": overlap,
                },
            )
        )
        labels.append(label)
        humans.append([int(row[key]) for key in PANDALM_LABELS])  # type: ignore[call-overload]
    return RoutingData(features, np.array(labels), np.array(humans))


@dataclass(frozen=True)
class RoutingSettings:
    budgets: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    calibration: float = 0.05  # share of all items in the calibration slice (capped by the budget)
    alpha: float = 0.2
    l2: float = 1.0
    min_tag_count: int = 5


@dataclass
class RoutingResult:
    budgets: tuple[float, ...]
    agreement: dict[str, np.ndarray]  # method -> seeds x budgets
    # at `alpha`, routed without a budget: share of the non-calibration items under the threshold and
    # the agreement of the judge labels it accepts with the revealed human, per seed (budget-free)
    alpha: float
    threshold_human_share: np.ndarray
    threshold_accepted_agreement: np.ndarray
    calibration_accepted_agreement: np.ndarray
    coefficients: list[dict[str, float]]


def simulate_routing(
    data: RoutingData,
    *,
    seeds: int,
    settings: RoutingSettings,
    progress: Callable[[str], None] | None = None,
) -> RoutingResult:
    n = len(data.judge)
    budgets = settings.budgets
    agreement = {m: np.zeros((seeds, len(budgets))) for m in METHODS}
    share, accepted_agreement, calibration_agreement = np.zeros(seeds), np.zeros(seeds), np.zeros(seeds)
    coefficients = []
    for seed in range(seeds):
        rng = np.random.default_rng([seed, 7])
        revealed = rng.integers(3, size=n)
        human = data.humans[np.arange(n), revealed]
        held = np.array([np.delete(data.humans[k], revealed[k]) for k in range(n)])
        scored = held[:, 0] == held[:, 1]
        reference = held[:, 0]
        judge_right = data.judge == human  # what the calibration slice can observe

        def score(final: np.ndarray, scored: np.ndarray = scored, reference: np.ndarray = reference) -> float:
            return float((final[scored] == reference[scored]).mean())

        order = rng.permutation(n)
        for b, budget in enumerate(budgets):
            humans_asked = round(budget * n)
            final = data.judge.copy()
            final[order[:humans_asked]] = human[order[:humans_asked]]
            agreement["random"][seed, b] = score(final)
            agreement["all-judge"][seed, b] = score(data.judge)
            agreement["all-human"][seed, b] = score(human)
            agreement["routed"][seed, b] = score(
                _routed_labels(data, human, judge_right, order, humans_asked, settings, rng)
            )
        calibration = order[: round(settings.calibration * n)]
        rest = order[len(calibration) :]
        router = fit_router(
            [data.features[k] for k in calibration],
            judge_right[calibration],
            alpha=settings.alpha,
            l2=settings.l2,
            min_tag_count=settings.min_tag_count,
        )
        p_agree = router.predict([data.features[k] for k in rest])
        accepted = p_agree >= router.threshold
        share[seed] = float((~accepted).mean())
        accepted_agreement[seed] = float(judge_right[rest][accepted].mean()) if accepted.any() else math.nan
        calibration_agreement[seed] = router.accepted_agreement
        coefficients.append(router.coefficients())
        if progress is not None:
            progress(f"routing seed {seed + 1}/{seeds} done")
    return RoutingResult(
        budgets, agreement, settings.alpha, share, accepted_agreement, calibration_agreement, coefficients
    )


def _routed_labels(
    data: RoutingData,
    human: np.ndarray,
    judge_right: np.ndarray,
    order: np.ndarray,
    humans_asked: int,
    settings: RoutingSettings,
    rng: np.random.Generator,
) -> np.ndarray:
    """Final labels when a calibration slice trains the router and the rest of the budget is routed."""
    n = len(order)
    final = data.judge.copy()
    size = min(humans_asked, round(settings.calibration * n))
    if humans_asked == 0:
        return final
    if size < 10 or humans_asked >= n:  # too small to learn from (or everything goes to humans)
        final[order[:humans_asked]] = human[order[:humans_asked]]
        return final
    calibration, rest = order[:size], order[size:]
    final[calibration] = human[calibration]
    router = fit_router(
        [data.features[k] for k in calibration],
        judge_right[calibration],
        alpha=settings.alpha,
        l2=settings.l2,
        min_tag_count=settings.min_tag_count,
    )
    routing = router.route(
        [data.features[k] for k in rest], human_budget=(humans_asked - size) / len(rest), rng=rng
    )
    chosen = rest[routing.to_human]
    final[chosen] = human[chosen]
    return final


def routing_table(result: RoutingResult, interval: Callable[[np.ndarray], tuple]) -> list[list[str]]:
    """Rows: budget, then mean agreement [95% interval] per method, then routed - random."""
    rows = []
    for b, budget in enumerate(result.budgets):
        row = [f"{budget:.2f}"]
        for method in METHODS:
            mean, low, high = interval(result.agreement[method][:, b])
            row.append(f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}]")
        gain = result.agreement["routed"][:, b] - result.agreement["random"][:, b]
        mean, low, high = interval(gain)
        row.append(f"{100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]")
        rows.append(row)
    return rows


def default_data_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def methods() -> Sequence[str]:
    return METHODS
