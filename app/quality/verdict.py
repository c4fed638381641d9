"""Can this campaign's data be trusted? A few checks, each with its number, a status and the reason.

Statuses: `ok`, `warn` (use with care, look at it), `bad` (do not rely on it as is), `info` (context,
not a judgement). The overall answer is the worst status among the checks; without enough overlap to
measure agreement at all, the answer is `unknown` rather than a guess (unless a check fails).
"""

from typing import Any, Literal

from app.quality import agreement
from app.quality.annotators import flagged_share

Status = Literal["ok", "warn", "bad", "info"]
RANK = {"info": 0, "ok": 0, "warn": 1, "bad": 2}
FLAGGED_WARN = 0.10
FLAGGED_BAD = 0.25
OUTLIER_WARN = 0.10
BIAS_P = 0.05
CONSISTENCY_WARN = 0.8


def _line(check: str, status: Status, value: float | None, message: str) -> dict[str, Any]:
    return {"check": check, "status": status, "value": value, "message": message}


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _interval(rate: dict[str, Any]) -> str:
    return f"{_pct(rate['rate'])} (95% interval {_pct(rate['low'])} to {_pct(rate['high'])}, n = {rate['n']})"


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    lines = [_agreement(report)]
    lines.append(_flagged(report))
    lines.extend(_bias(report))
    lines.append(_times(report))
    gold = report["gold"]
    if gold["n"]:
        status: Status = "ok" if gold["rate"] >= gold["threshold"] else "bad"
        lines.append(
            _line(
                "gold",
                status,
                gold["rate"],
                f"gold items answered right {_interval(gold)}; the bar is {_pct(gold['threshold'])}",
            )
        )
    consistency = report["rating_preference"]["mean_rating"]["agreeing"]
    if consistency["n"]:
        status = "ok" if consistency["rate"] >= CONSISTENCY_WARN else "warn"
        lines.append(
            _line(
                "ratings_vs_preferences",
                status,
                consistency["rate"],
                f"the preferred output has the higher mean rating in {_interval(consistency)} of votes that "
                "rated both sides differently",
            )
        )
    worst = max((RANK[line["status"]] for line in lines), default=0)
    undefined = lines[0]["value"] is None
    # A failing check is enough to say no; saying yes needs agreement to be measured.
    overall = (
        "unknown" if undefined and worst < 2 else {0: "trusted", 1: "use with care", 2: "not trusted"}[worst]
    )
    summary = {
        "trusted": "The votes agree well and no check raises a concern.",
        "use with care": "Usable, but some checks need a look before training on these votes.",
        "not trusted": "Do not rely on these votes as they are: see the failing checks.",
        "unknown": "Not enough overlapping votes to measure agreement yet.",
    }[overall]
    return {"overall": overall, "summary": summary, "lines": lines}


def _agreement(report: dict[str, Any]) -> dict[str, Any]:
    primary = report["primary_measure"]
    row = next((r for r in report["alphas"] if r["measure"] == primary), None)
    if row is None or row["alpha"] is None:
        return _line(
            "agreement",
            "warn",
            None,
            "alpha is undefined: no unit has two human answers yet, or every answer is the same "
            "(raise the overlap, or collect more votes)",
        )
    alpha, label = row["alpha"], row["label"]
    where = (
        f"Krippendorff's alpha ({row['level']}) on {label.lower()} is {alpha:.2f} "
        f"over {row['pairable_units']} units"
    )
    if alpha >= agreement.RELIABLE:
        return _line("agreement", "ok", alpha, f"{where}: reliable (≥ {agreement.RELIABLE})")
    if alpha >= agreement.TENTATIVE:
        return _line(
            "agreement",
            "warn",
            alpha,
            f"{where}: tentative ({agreement.TENTATIVE} to {agreement.RELIABLE}); draw tentative "
            "conclusions only",
        )
    return _line(
        "agreement", "bad", alpha, f"{where}: below {agreement.TENTATIVE}, annotators do not agree reliably"
    )


def _flagged(report: dict[str, Any]) -> dict[str, Any]:
    flagged, total = flagged_share(report["by_annotator"])
    names = [r["annotator"] for r in report["by_annotator"] if r["flags"]]
    if not total:
        return _line("flagged_annotators", "info", None, "no human votes yet")
    share = flagged / total
    status: Status = "ok" if share < FLAGGED_WARN else "warn" if share < FLAGGED_BAD else "bad"
    who = f" ({', '.join(names[:5])}{'…' if len(names) > 5 else ''})" if names else ""
    return _line(
        "flagged_annotators",
        status,
        round(share, 4),
        f"{_pct(share)} of votes come from {len(names)} flagged annotator(s){who}: low agreement or "
        "reliability, gold accuracy below the bar, a side preference, or rushing",
    )


def _bias(report: dict[str, Any]) -> list[dict[str, Any]]:
    lines = []
    position = report["position_bias"]
    if position["n"]:
        significant = position["p_value"] is not None and position["p_value"] < BIAS_P
        lines.append(
            _line(
                "position_bias",
                "warn" if significant else "ok",
                position["rate"],
                f"the left side (A) wins {_interval(position)}; "
                + (
                    f"significantly different from 50% (p = {position['p_value']:.2g})"
                    if significant
                    else "not significantly different from 50%"
                ),
            )
        )
    length = report["length_bias"]
    if length["n"]:
        lines.append(
            _line(
                "length_bias",
                "info",
                length["rate"],
                f"the longer output wins {_interval(length)}; longer answers are often better, so compare "
                "annotators rather than read this alone",
            )
        )
    return lines


def _times(report: dict[str, Any]) -> dict[str, Any]:
    times = report["time_on_task"]
    total = report["votes"]
    if not total:
        return _line("time_on_task", "info", None, "no votes yet")
    share = (times["too_fast"] + times["too_slow"]) / total
    return _line(
        "time_on_task",
        "ok" if share < OUTLIER_WARN else "warn",
        round(share, 4),
        f"{times['too_fast']} votes unusually fast and {times['too_slow']} unusually slow "
        f"({_pct(share)}; median {times['median_ms'] / 1000:.1f} s a task)",
    )
