"""Agreement and bias measures against textbook values and an independent implementation."""

import math

import numpy as np
import pytest

from app.quality import metrics
from app.quality.metrics import Ratings, SpanDocument

NAN = math.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units.
KRIPPENDORFF_2011_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


@pytest.mark.parametrize(
    ("level", "expected"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_alpha_matches_krippendorffs_worked_example(level: metrics.Level, expected: float) -> None:
    assert round(metrics.krippendorff_alpha(KRIPPENDORFF_2011_C, level=level), 3) == expected


def test_alpha_matches_the_two_observer_examples() -> None:
    # Section A: binary data, two observers, no missing values: alpha = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert round(metrics.krippendorff_alpha([a, b]), 3) == 0.095
    # Section B: nominal data, two observers: alpha = 0.692.
    a = ["a", "a", "b", "b", "d", "c", "c", "c", "e", "d", "d", "a"]
    b = ["b", "a", "b", "b", "b", "c", "c", "c", "e", "d", "d", "d"]
    assert round(metrics.krippendorff_alpha([a, b]), 3) == 0.692


def test_alpha_agrees_with_the_krippendorff_package_on_random_data() -> None:
    krippendorff = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(7)
    for _ in range(10):
        data = rng.integers(1, 6, size=(int(rng.integers(2, 7)), 30)).astype(float)
        data[rng.random(data.shape) < 0.3] = np.nan
        for level in metrics.LEVELS:
            expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
            assert metrics.krippendorff_alpha(data, level=level) == pytest.approx(expected, abs=1e-9)


def test_alpha_edge_cases() -> None:
    assert metrics.krippendorff_alpha([["x", "y", "x"], ["x", "y", "x"]]) == 1.0
    # One value everywhere: no expected disagreement, alpha undefined.
    assert metrics.krippendorff_alpha([["x", "x"], ["x", "x"]]) is None
    # No unit has two values: nothing pairable.
    assert metrics.krippendorff_alpha([["x", None], [None, "y"]]) is None
    assert metrics.krippendorff_alpha([]) is None
    with pytest.raises(ValueError, match="not in the given domain"):
        Ratings.from_triples([0, 0], ["a", "b"], ["x", "z"], domain=["x", "y"])
    with pytest.raises(ValueError, match="numeric"):
        metrics.krippendorff_alpha([["x", "y"], ["y", "y"]], level="interval")


def test_ordinal_alpha_follows_the_given_domain_order() -> None:
    data = [["low", "mid", "high", "mid"], ["low", "high", "high", "low"]]
    ordered = metrics.krippendorff_alpha(data, level="ordinal", domain=["low", "mid", "high"])
    numeric = metrics.krippendorff_alpha(
        [[{"low": 1, "mid": 2, "high": 3}[v] for v in row] for row in data], level="ordinal"
    )
    assert ordered == pytest.approx(numeric)


def test_pairwise_agreement_is_the_share_of_equal_pairs() -> None:
    # The exports' hand-computed case: three units of three votes, 2 of 9 pairs agree.
    ratings = Ratings.from_triples(
        [1, 1, 1, 2, 2, 2, 3, 3, 3],
        list("abcabcabc"),
        ["first", "first", "second", "tie", "tie", "first", "second", "both_bad", "first"],
    )
    assert metrics.pairwise_agreement(ratings.counts()) == pytest.approx(2 / 9)
    assert metrics.krippendorff_alpha(ratings) == pytest.approx(0.0)


def test_alpha_per_coder_finds_the_odd_one_out() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=60)
    noisy = truth.copy()
    noisy[rng.random(60) < 0.1] = rng.integers(0, 3)
    contrarian = (truth + 1) % 3
    ratings = Ratings.from_matrix([truth, truth, noisy, contrarian], domain=[0, 1, 2])
    per_coder = metrics.alpha_per_coder(ratings)
    overall = metrics.krippendorff_alpha(ratings)
    assert [c.coder for c in per_coder] == [0, 1, 2, 3]
    assert per_coder[3].vs_rest == min(c.vs_rest for c in per_coder)
    assert per_coder[3].without == max(c.without for c in per_coder) > overall
    # Without the contrarian, the rest agree almost perfectly.
    assert per_coder[3].without > 0.9
    # 1 - alpha is the value-weighted mean of each coder's 1 - alpha against the rest.
    weighted = sum(c.pairable * (1 - c.vs_rest) for c in per_coder) / sum(c.pairable for c in per_coder)
    assert 1 - overall == pytest.approx(weighted)
    # Drop-one equals recomputing alpha on the data without that coder.
    for c in per_coder:
        rest = [row for j, row in enumerate([truth, truth, noisy, contrarian]) if j != c.coder]
        assert c.without == pytest.approx(metrics.krippendorff_alpha(rest))


def test_alpha_per_coder_on_interval_data_matches_drop_one() -> None:
    ratings = Ratings.from_matrix(KRIPPENDORFF_2011_C)
    for c in metrics.alpha_per_coder(ratings, level="interval"):
        rest = [row for j, row in enumerate(KRIPPENDORFF_2011_C) if j != c.coder]
        assert c.without == pytest.approx(metrics.krippendorff_alpha(rest, level="interval"))
    assert [c.values for c in metrics.alpha_per_coder(ratings)] == [9, 11, 10, 11]


def test_span_alpha_is_nominal_alpha_over_token_labels() -> None:
    docs = [
        SpanDocument(n_tokens=10, spans={"a": [(2, 5, "error")], "b": [(2, 5, "error")]}),
        SpanDocument(n_tokens=6, spans={"a": [], "b": [(0, 1, "error")], "c": [(0, 2, "style")]}),
    ]
    labels = [metrics.token_labels(d.n_tokens, s) for d in docs for s in d.spans.values()]
    assert labels[0] == ["O", "O", "error", "error", "error", "O", "O", "O", "O", "O"]
    expected = metrics.krippendorff_alpha(
        [
            labels[0] + labels[2],
            labels[1] + labels[3],
            [None] * 10 + labels[4],
        ]
    )
    assert metrics.span_token_alpha(docs) == pytest.approx(expected)
    # Ignoring labels, "error" and "style" on token 0 agree.
    assert metrics.span_token_alpha(docs, ignore_labels=True) > metrics.span_token_alpha(docs)
    same = [SpanDocument(n_tokens=5, spans={"a": [(1, 3, "x")], "b": [(1, 3, "x")]})]
    assert metrics.span_token_alpha(same) == 1.0
    with pytest.raises(ValueError, match="outside a text of 5 tokens"):
        metrics.span_token_alpha([SpanDocument(n_tokens=5, spans={"a": [(3, 9, "x")]})])


def test_wilson_interval_matches_newcombe() -> None:
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", table I.
    low, high = metrics.wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = metrics.wilson_interval(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775
    assert metrics.wilson_interval(0, 0) is None
    rate = metrics.binomial_rate(5, 10)
    assert rate.rate == 0.5 and rate.p_value == pytest.approx(1.0)
    assert metrics.binomial_rate(0, 0).as_dict()["rate"] is None


def test_position_bias_overall_and_per_annotator() -> None:
    left_won = [True] * 20 + [True, False] * 10
    who = ["always-left"] * 20 + ["fair"] * 20
    bias = metrics.position_bias(left_won, groups=who)
    assert bias.overall.k == 30 and bias.overall.n == 40
    assert bias.by_group["always-left"].rate == 1.0 and bias.by_group["always-left"].p_value < 1e-5
    assert bias.by_group["fair"].rate == 0.5 and bias.by_group["fair"].low < 0.5 < bias.by_group["fair"].high


def test_length_bias_counts_only_unequal_lengths() -> None:
    bias = metrics.length_bias([10, 30, 5, 7], [20, 10, 5, 3], groups=["a", "a", "b", "b"])
    assert (bias.overall.k, bias.overall.n) == (2, 3)
    assert bias.by_group["a"].rate == 0.5 and (bias.by_group["b"].k, bias.by_group["b"].n) == (1, 1)


def test_time_outliers_on_log_times() -> None:
    rng = np.random.default_rng(1)
    times = np.exp(rng.normal(np.log(20_000), 0.4, size=200))
    times[:3] = [400, 500, 300]  # clicking through
    times[3] = 3_600_000  # an hour away
    outliers = metrics.time_on_task_outliers(times)
    assert outliers.too_fast[:3].all() and outliers.too_fast.sum() == 3
    assert outliers.too_slow[3] and outliers.too_slow.sum() == 1
    assert metrics.robust_z([5, 5, 5]).tolist() == [0, 0, 0]
    # MAD of 0 but not all equal: the mean absolute deviation takes over.
    assert metrics.robust_z([1, 1, 1, 1, 9])[-1] > 3.5


def test_rating_preference_consistency() -> None:
    result = metrics.rating_preference_consistency(
        rating_a=[5, 2, 3, 4, 4, NAN],
        rating_b=[1, 4, 3, 1, 4, 2],
        preference=[1, 1, -1, 0, 1, 1],
    )
    # Pair 1 agrees, pair 2 contradicts; pair 3 rates a tie; pair 4 is a tie vote between unequal ratings.
    assert (result.agreeing.k, result.agreeing.n) == (1, 2)
    assert result.rating_ties == 2 and result.preference_ties == 1


def test_rating_preference_consistency_skips_missing_preferences_and_groups() -> None:
    rating_a = [5, 2, 1, 3, 2, 4]
    rating_b = [1, 4, 3, 1, 2, 1]
    preference = [1, 1, NAN, 1, -1, -1]  # NaN: both bad, no side preferred
    groups = ["x", "x", "x", "y", "y", "y"]
    overall = metrics.rating_preference_consistency(rating_a, rating_b, preference)
    assert (overall.agreeing.k, overall.agreeing.n) == (2, 4) and overall.rating_ties == 1
    by_group = metrics.rating_preference_consistency_by_group(rating_a, rating_b, preference, groups=groups)
    for name in ("x", "y"):
        rows = [i for i, g in enumerate(groups) if g == name]
        expected = metrics.rating_preference_consistency(
            [rating_a[i] for i in rows], [rating_b[i] for i in rows], [preference[i] for i in rows]
        )
        assert by_group[name] == expected
    assert by_group["x"].agreeing.n == 2 and by_group["y"].rating_ties == 1


def test_nearly_equal_times_are_not_outliers() -> None:
    # Almost everyone takes 20 s: a 21 s or 30 s task is not unusual, a 0.3 s one still is.
    times = np.array([20_000] * 50 + [20_100, 21_000, 30_000, 300])
    outliers = metrics.time_on_task_outliers(times)
    assert not outliers.too_slow.any()
    assert outliers.too_fast.tolist() == [False] * 53 + [True]
