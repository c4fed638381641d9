"""Agreement and bias measures on plain arrays (numpy/scipy, no database).

Krippendorff's alpha follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": values
per unit give a coincidence matrix o_ck (each ordered pair of values within a unit of m_u values counts
1 / (m_u - 1)), its marginals n_c and total n, and

    alpha = 1 - D_o / D_e,  D_o = sum_ck o_ck d_ck / n,  D_e = sum_ck n_c n_k d_ck / (n (n - 1)),

with d_ck the squared difference function of the level of measurement (nominal, ordinal, interval,
ratio). Units with fewer than two values are not pairable and drop out. Alpha is undefined (None) when
nothing is pairable or every pairable value is the same (D_e = 0).
"""

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import binomtest

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
Z95 = 1.959963984540054
# 1 / Phi^-1(3/4): makes the median absolute deviation estimate sigma for normal data.
MAD_TO_SIGMA = 1.482602218505602


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


@dataclass(frozen=True)
class Ratings:
    """Values that coders gave to units, one entry per value, as parallel index arrays.

    `unit`, `coder` and `value` index into `units`, `coders` and `domain`. `domain` is in the order
    of the scale (it matters for ordinal data; interval and ratio data need numbers).
    """

    unit: np.ndarray
    coder: np.ndarray
    value: np.ndarray
    units: np.ndarray
    coders: np.ndarray
    domain: np.ndarray

    @classmethod
    def from_triples(
        cls,
        units: Sequence[Hashable],
        coders: Sequence[Hashable],
        values: Sequence[Any],
        *,
        domain: Sequence[Any] | None = None,
    ) -> "Ratings":
        """From (unit, coder, value) triples; missing values (None, NaN) are dropped."""
        if not len(units) == len(coders) == len(values):
            raise ValueError(
                f"units, coders and values must have the same length, not {len(units)}, {len(coders)}, "
                f"{len(values)}"
            )
        keep = [i for i, v in enumerate(values) if not _missing(v)]
        kept_values = [values[i] for i in keep]
        unit_ids, unit = _factorize([units[i] for i in keep])
        coder_ids, coder = _factorize([coders[i] for i in keep])
        if domain is None:
            value_domain, value = _factorize(kept_values)
        else:
            value_domain = _as_array(list(domain))
            where = {v: i for i, v in enumerate(value_domain.tolist())}
            unknown = [v for v in kept_values if v not in where]
            if unknown:
                raise ValueError(f"value {unknown[0]!r} is not in the given domain {value_domain.tolist()}")
            value = np.array([where[v] for v in kept_values], dtype=np.int64)
        return cls(unit=unit, coder=coder, value=value, units=unit_ids, coders=coder_ids, domain=value_domain)

    @classmethod
    def from_matrix(cls, data: Any, *, domain: Sequence[Any] | None = None) -> "Ratings":
        """From reliability data: one row per coder, one column per unit, None or NaN where missing."""
        rows = [list(row) for row in data]
        if not rows:
            return cls.from_triples([], [], [], domain=domain)
        width = len(rows[0])
        if any(len(row) != width for row in rows):
            raise ValueError("every coder's row must have one entry per unit")
        coders = [c for c, row in enumerate(rows) for _ in row]
        units = [u for row in rows for u in range(len(row))]
        values = [v for row in rows for v in row]
        return cls.from_triples(units, coders, values, domain=domain)

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_coders(self) -> int:
        return len(self.coders)

    def counts(self) -> np.ndarray:
        """Units x domain matrix: how many times each value was given to each unit."""
        return value_counts(self.unit, self.value, n_units=self.n_units, n_values=len(self.domain))


def _as_array(values: list[Any]) -> np.ndarray:
    """Numbers as a numeric array (so interval and ratio distances can use them), anything else as objects."""
    if values and all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values):
        return np.asarray(values)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _factorize(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, index of each value); unsortable mixes keep first-seen order."""
    if not values:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    try:
        distinct = sorted(set(values))
    except TypeError:
        distinct = list(dict.fromkeys(values))
    where = {v: i for i, v in enumerate(distinct)}
    return _as_array(distinct), np.fromiter((where[v] for v in values), dtype=np.int64, count=len(values))


def value_counts(unit: np.ndarray, value: np.ndarray, *, n_units: int, n_values: int) -> np.ndarray:
    flat = np.bincount(
        np.asarray(unit, dtype=np.int64) * n_values + np.asarray(value, dtype=np.int64),
        minlength=n_units * n_values,
    )
    return flat.reshape(n_units, n_values).astype(float)


def coincidence_matrix(counts: np.ndarray) -> np.ndarray:
    """o_ck = sum over pairable units of n_uc (n_uk - [c = k]) / (m_u - 1)."""
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    pairable = counts[m >= 2]
    scaled = pairable / (m[m >= 2] - 1)[:, None]
    return scaled.T @ pairable - np.diag(scaled.sum(axis=0))


def distance_matrix(level: Level, domain: np.ndarray, marginals: np.ndarray) -> np.ndarray:
    """Squared difference d_ck between the domain's values for the level of measurement.

    Ordinal distances use the marginals: d_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2, which is the
    squared difference of the values' mid-ranks.
    """
    size = len(domain)
    if level == "nominal":
        return 1.0 - np.eye(size)
    if level == "ordinal":
        marginals = np.asarray(marginals, dtype=float)
        mid_rank = np.cumsum(marginals) - marginals / 2
        return (mid_rank[:, None] - mid_rank[None, :]) ** 2
    try:
        numbers = np.asarray(domain, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{level} alpha needs numeric values, not {list(domain)[:5]}") from exc
    if level == "interval":
        return (numbers[:, None] - numbers[None, :]) ** 2
    if level == "ratio":
        total = numbers[:, None] + numbers[None, :]
        diff = numbers[:, None] - numbers[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total == 0, 0.0, (diff / np.where(total == 0, 1, total)) ** 2)
    raise ValueError(f"unknown level of measurement {level!r}; use one of {', '.join(LEVELS)}")


def _expected_disagreement(marginals: np.ndarray, distances: np.ndarray) -> float:
    n = marginals.sum()
    if n < 2:
        return 0.0
    return float(marginals @ distances @ marginals) / float(n * (n - 1))


def alpha_from_coincidences(coincidences: np.ndarray, *, level: Level, domain: np.ndarray) -> float | None:
    marginals = coincidences.sum(axis=0)
    n = marginals.sum()
    if n < 2:
        return None
    distances = distance_matrix(level, domain, marginals)
    expected = _expected_disagreement(marginals, distances)
    if expected <= 1e-15:
        return None
    observed = float((coincidences * distances).sum()) / n
    return 1.0 - observed / expected


def alpha_from_counts(counts: np.ndarray, *, level: Level = "nominal", domain: Any = None) -> float | None:
    """Alpha from a units x values count matrix (`domain`: the values of its columns, in order)."""
    counts = np.asarray(counts, dtype=float)
    if domain is None:
        domain = np.arange(counts.shape[1])
    return alpha_from_coincidences(coincidence_matrix(counts), level=level, domain=np.asarray(domain))


def krippendorff_alpha(
    data: "Ratings | Any", *, level: Level = "nominal", domain: Sequence[Any] | None = None
) -> float | None:
    """Krippendorff's alpha of `Ratings`, or of reliability data (coders x units, None/NaN missing)."""
    ratings = data if isinstance(data, Ratings) else Ratings.from_matrix(data, domain=domain)
    return alpha_from_counts(ratings.counts(), level=level, domain=ratings.domain)


def pairwise_agreement(counts: np.ndarray) -> float | None:
    """Share of pairs of values within a unit that are equal: percent agreement, not chance-corrected."""
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    pairs = float((m * (m - 1)).sum())
    return None if pairs == 0 else float((counts * (counts - 1)).sum()) / pairs


@dataclass(frozen=True)
class CoderAlpha:
    """One coder against the others.

    `vs_rest`: 1 - D_o(coder) / D_e, where D_o(coder) is the mean distance between this coder's value
    and the other values of the same unit, over the coder's pairable units, and D_e is the whole data's
    expected disagreement. The data's alpha is the value-weighted mean of these (in 1 - alpha).
    `without`: the data's alpha with this coder left out (drop-one); above the overall alpha means the
    coder lowers agreement.
    """

    coder: Any
    values: int
    pairable: int
    vs_rest: float | None
    without: float | None


def alpha_per_coder(ratings: Ratings, *, level: Level = "nominal") -> list[CoderAlpha]:
    counts = ratings.counts()
    m = counts.sum(axis=1)
    coincidences = coincidence_matrix(counts)
    marginals = coincidences.sum(axis=0)
    distances = distance_matrix(level, ratings.domain, marginals)
    expected = _expected_disagreement(marginals, distances)
    # Mean distance from each value to the other values of its unit.
    unit_m = m[ratings.unit]
    pairable = unit_m >= 2
    to_others = (counts @ distances)[ratings.unit, ratings.value] / np.maximum(unit_m - 1, 1)
    n_coders = ratings.n_coders
    values = np.bincount(ratings.coder, minlength=n_coders)
    n_pairable = np.bincount(ratings.coder, weights=pairable, minlength=n_coders)
    disagreement = np.bincount(ratings.coder, weights=np.where(pairable, to_others, 0.0), minlength=n_coders)
    result = []
    for j in range(n_coders):
        vs_rest = None
        if n_pairable[j] > 0 and expected > 1e-15:
            vs_rest = 1.0 - float(disagreement[j] / n_pairable[j]) / expected
        result.append(
            CoderAlpha(
                coder=_py(ratings.coders[j]),
                values=int(values[j]),
                pairable=int(n_pairable[j]),
                vs_rest=vs_rest,
                without=_alpha_without(ratings, counts, coincidences, j, level=level),
            )
        )
    return result


def _alpha_without(
    ratings: Ratings, counts: np.ndarray, coincidences: np.ndarray, coder: int, *, level: Level
) -> float | None:
    """Alpha with one coder's values removed, updating only the units that coder touched."""
    mine = ratings.coder == coder
    touched = np.unique(ratings.unit[mine])
    before = counts[touched]
    removed = value_counts(
        np.searchsorted(touched, ratings.unit[mine]),
        ratings.value[mine],
        n_units=len(touched),
        n_values=counts.shape[1],
    )
    updated = coincidences - coincidence_matrix(before) + coincidence_matrix(before - removed)
    return alpha_from_coincidences(updated, level=level, domain=ratings.domain)


# Spans ----------------------------------------------------------------------------------------------

Span = tuple[int, int, str]


@dataclass(frozen=True)
class SpanDocument:
    """One text's span annotations: token count, and each coder's spans (start, end exclusive, label).

    A coder in `spans` with no spans annotated the text and found nothing; a coder absent did not see it.
    """

    n_tokens: int
    spans: Mapping[Hashable, Sequence[Span]]


def token_labels(n_tokens: int, spans: Iterable[Span], *, outside: str = "O") -> list[str]:
    """Each token's label: the last listed span covering it, or `outside`."""
    labels = [outside] * n_tokens
    for start, end, label in spans:
        if not 0 <= start <= end <= n_tokens:
            raise ValueError(f"span ({start}, {end}) is outside a text of {n_tokens} tokens")
        labels[start:end] = [label] * (end - start)
    return labels


def span_token_alpha(
    documents: Sequence[SpanDocument], *, ignore_labels: bool = False, outside: str = "O"
) -> float | None:
    """Nominal alpha with every token of every text as a unit and its span label as the value.

    A simplification of Krippendorff's unitizing alpha (u-alpha), which measures agreement on a
    continuum including where segments start and end: here a token is in a span or not, with the span's
    label; boundaries matter only through the tokens they move, and untouched tokens (`outside`) count
    as agreement, so long texts with sparse spans score close to the agreement on those sparse tokens
    against a large base of agreed `outside`. `ignore_labels` asks only "is this token in a span".
    """
    units: list[int] = []
    coders: list[Hashable] = []
    values: list[str] = []
    offset = 0
    for doc in documents:
        for coder, spans in doc.spans.items():
            labels = token_labels(doc.n_tokens, spans, outside=outside)
            if ignore_labels:
                labels = [outside if label == outside else "span" for label in labels]
            units.extend(range(offset, offset + doc.n_tokens))
            coders.extend([coder] * doc.n_tokens)
            values.extend(labels)
        offset += doc.n_tokens
    return krippendorff_alpha(Ratings.from_triples(units, coders, values), level="nominal")


# Binomial rates: position and length bias ------------------------------------------------------------


def wilson_interval(k: int, n: int, *, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion k / n (None when n = 0)."""
    if n <= 0:
        return None
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Rate:
    """k of n, with its Wilson 95% interval and the exact two-sided binomial test against `null`."""

    k: int
    n: int
    rate: float | None
    low: float | None
    high: float | None
    p_value: float | None

    def as_dict(self, digits: int = 4) -> dict[str, float | int | None]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, digits)

        return {
            "k": self.k,
            "n": self.n,
            "rate": r(self.rate),
            "low": r(self.low),
            "high": r(self.high),
            # Significant digits: small p-values are the interesting ones.
            "p_value": None if self.p_value is None else float(f"{self.p_value:.3g}"),
        }


def binomial_rate(k: int, n: int, *, null: float = 0.5) -> Rate:
    k, n = int(k), int(n)
    if n == 0:
        return Rate(k=0, n=0, rate=None, low=None, high=None, p_value=None)
    low, high = wilson_interval(k, n)  # type: ignore[misc]
    return Rate(k=k, n=n, rate=k / n, low=low, high=high, p_value=float(binomtest(k, n, null).pvalue))


def rates_by_group(successes: Any, groups: Any) -> dict[Any, Rate]:
    successes = np.asarray(successes, dtype=bool)
    groups = np.asarray(groups)
    if successes.shape != groups.shape:
        raise ValueError("successes and groups must have the same length")
    if len(groups) == 0:
        return {}
    names, index = np.unique(groups, return_inverse=True)
    k = np.bincount(index, weights=successes, minlength=len(names))
    n = np.bincount(index, minlength=len(names))
    return {_py(name): binomial_rate(int(k_), int(n_)) for name, k_, n_ in zip(names, k, n, strict=True)}


@dataclass(frozen=True)
class Bias:
    """How often one side wins, overall and per group (annotator); 0.5 means no bias."""

    overall: Rate
    by_group: dict[Any, Rate]


def position_bias(left_won: Any, *, groups: Any = None) -> Bias:
    """Share of strict preferences won by the side shown first (left, "A").

    Pass preference votes only: ties and both-bad have no winner side.
    """
    left_won = np.asarray(left_won, dtype=bool)
    by_group = rates_by_group(left_won, groups) if groups is not None else {}
    return Bias(overall=binomial_rate(int(left_won.sum()), len(left_won)), by_group=by_group)


def length_bias(winner_length: Any, loser_length: Any, *, groups: Any = None) -> Bias:
    """Share of strict preferences, among pairs of unequal length, won by the longer output.

    Longer answers are often better, so a high overall rate is not proof of bias by itself; an
    annotator far above the overall rate is the signal.
    """
    winner_length = np.asarray(winner_length, dtype=float)
    loser_length = np.asarray(loser_length, dtype=float)
    differ = winner_length != loser_length
    longer_won = winner_length[differ] > loser_length[differ]
    by_group = rates_by_group(longer_won, np.asarray(groups)[differ]) if groups is not None else {}
    return Bias(overall=binomial_rate(int(longer_won.sum()), int(differ.sum())), by_group=by_group)


# Time on task ---------------------------------------------------------------------------------------


def robust_location_scale(values: Any) -> tuple[float, float]:
    """(median, 1.4826 MAD), the scale falling back to the mean absolute deviation (x 1.2533) when the
    MAD is 0 (Iglewicz and Hoaglin); (nan, 0) for no values."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, 0.0
    median = float(np.median(x))
    deviation = np.abs(x - median)
    scale = MAD_TO_SIGMA * float(np.median(deviation))
    if scale <= 0:
        scale = math.sqrt(math.pi / 2) * float(deviation.mean())
    return median, scale


def robust_z(values: Any) -> np.ndarray:
    """(x - median) / robust scale (`robust_location_scale`); zeros when every value is the same."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return x
    median, scale = robust_location_scale(x)
    if scale <= 0:
        return np.zeros_like(x)
    return (x - median) / scale


@dataclass(frozen=True)
class TimeOutliers:
    """Robust z of log time on task per vote; beyond +-threshold is too fast or too slow."""

    median_ms: float | None
    z: np.ndarray
    too_fast: np.ndarray
    too_slow: np.ndarray
    threshold: float


# The least spread of log times the outlier rule assumes: when nearly everyone takes the same time
# (a scripted test, a very uniform task), the MAD alone would flag a task taking 1% longer; with
# this floor and the 3.5 cut, a time within a factor of 2 of the median is never an outlier.
MIN_LOG_TIME_SCALE = 0.2


def log_time_location_scale(times_ms: Any) -> tuple[float, float]:
    """(median, robust scale) of log time in ms, the scale at least MIN_LOG_TIME_SCALE."""
    times = np.asarray(times_ms, dtype=float)
    median, scale = robust_location_scale(np.log(np.maximum(times, 1.0)))
    return median, max(scale, MIN_LOG_TIME_SCALE)


def time_on_task_outliers(times_ms: Any, *, threshold: float = 3.5) -> TimeOutliers:
    """Times are skewed (a few long pauses), so the scale is log time; 3.5 is Iglewicz and Hoaglin's cut."""
    times = np.asarray(times_ms, dtype=float)
    median, scale = log_time_location_scale(times)
    z = (np.log(np.maximum(times, 1.0)) - median) / scale if times.size else times
    return TimeOutliers(
        median_ms=float(np.median(times)) if times.size else None,
        z=z,
        too_fast=z < -threshold,
        too_slow=z > threshold,
        threshold=threshold,
    )


# Ratings against preferences ------------------------------------------------------------------------


@dataclass(frozen=True)
class Consistency:
    """Whether the preferred output also has the higher rating, where both were collected on a pair.

    `agreeing`: among strict preferences with unequal ratings, the share where the preferred side is
    rated higher. `rating_ties`: strict preferences between equally rated sides; `preference_ties`: tie
    votes between unequally rated sides (neither is a contradiction, both are worth a look).
    """

    agreeing: Rate
    rating_ties: int
    preference_ties: int


def _consistency_masks(rating_a: Any, rating_b: Any, preference: Any) -> dict[str, np.ndarray]:
    rating_a = np.asarray(rating_a, dtype=float)
    rating_b = np.asarray(rating_b, dtype=float)
    preference = np.asarray(preference, dtype=float)
    known = ~(np.isnan(rating_a) | np.isnan(rating_b) | np.isnan(preference))
    difference = np.sign(np.where(known, rating_a - rating_b, 0.0))
    preference = np.sign(np.where(known, preference, 0.0))
    strict = known & (preference != 0)
    comparable = strict & (difference != 0)
    return {
        "comparable": comparable,
        "agreeing": comparable & (difference == preference),
        "rating_ties": strict & (difference == 0),
        "preference_ties": known & (preference == 0) & (difference != 0),
    }


def rating_preference_consistency(rating_a: Any, rating_b: Any, preference: Any) -> Consistency:
    """`preference`: +1 when A was preferred, -1 when B was, 0 for a tie; pairs with a NaN rating or a
    NaN preference (no preference asked, or both bad) are skipped."""
    masks = _consistency_masks(rating_a, rating_b, preference)
    return Consistency(
        agreeing=binomial_rate(int(masks["agreeing"].sum()), int(masks["comparable"].sum())),
        rating_ties=int(masks["rating_ties"].sum()),
        preference_ties=int(masks["preference_ties"].sum()),
    )


def rating_preference_consistency_by_group(
    rating_a: Any, rating_b: Any, preference: Any, *, groups: Any
) -> dict[Any, Consistency]:
    """`rating_preference_consistency` for each group (annotator) at once."""
    masks = _consistency_masks(rating_a, rating_b, preference)
    groups = np.asarray(groups)
    if groups.shape != masks["comparable"].shape:
        raise ValueError("groups must have one entry per pair")
    if len(groups) == 0:
        return {}
    names, index = np.unique(groups, return_inverse=True)
    totals = {key: np.bincount(index, weights=mask, minlength=len(names)) for key, mask in masks.items()}
    return {
        _py(name): Consistency(
            agreeing=binomial_rate(int(totals["agreeing"][i]), int(totals["comparable"][i])),
            rating_ties=int(totals["rating_ties"][i]),
            preference_ties=int(totals["preference_ties"][i]),
        )
        for i, name in enumerate(names)
    }
