"""Strategies by name, simulated annotators and oracles, and `preflab simulate` as a real command."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from app.selection.ranking import BTPosterior
from app.selection.reward_data import CandidatePool
from app.selection.simulation import (
    AnnotatorModel,
    AnnotatorPool,
    OracleError,
    PandaLMOracle,
    ScoresOracle,
    ScoreTable,
    SelectionSettings,
    SyntheticOracle,
    median_interval,
    read_pandalm,
    run_selection,
    simulate_selection,
    summary,
    votes_to_target,
)
from app.selection.strategies import STRATEGIES, get_strategy
from tests.conftest import preflab_bin

PANDALM = Path(__file__).resolve().parents[3] / "shared" / "data" / "pandalm_testset_v1.json"


def test_registry() -> None:
    assert set(STRATEGIES) == {"uniform", "active"}
    rng = np.random.default_rng(0)
    posterior = BTPosterior.new(5)
    pool = CandidatePool.build(rng.normal(size=(20, 3)))
    for name in STRATEGIES:
        strategy = get_strategy(name)
        assert strategy.name == name
        i, j = strategy.next_pair(posterior, excluded_pairs=[(0, 1)], rng=rng)  # type: ignore[misc]
        assert i < j and (i, j) != (0, 1)
        assert strategy.next_candidate(pool, rng=rng) is not None
    with pytest.raises(ValueError, match="unknown selection strategy"):
        get_strategy("greedy")


def test_uniform_strategy_still_fills_the_minimum_first() -> None:
    posterior = BTPosterior.new(4)
    rng = np.random.default_rng(0)
    for _ in range(6):
        i, j = get_strategy("uniform").next_pair(posterior, min_per_pair=1, rng=rng)  # type: ignore[misc]
        posterior.update(i, j, 1.0)
    assert (posterior.votes + np.eye(4, dtype=int) > 0).all()


def test_annotator_model() -> None:
    rng = np.random.default_rng(0)
    honest = AnnotatorPool(AnnotatorModel(spammer_fraction=0.0, position_bias=0.0, tie_rate=0.0), rng)
    wins = np.mean([honest.vote(3.0, rng) for _ in range(2000)])
    assert 0.85 < wins < 0.99
    spam = AnnotatorPool(AnnotatorModel(spammer_fraction=1.0), rng)
    assert abs(np.mean([spam.vote(5.0, rng) for _ in range(2000)]) - 0.5) < 0.05
    ties = AnnotatorPool(AnnotatorModel(spammer_fraction=0.0, tie_rate=1.0), rng)
    assert np.mean([ties.vote(0.0, rng) == 0.5 for _ in range(200)]) == 1.0


def test_votes_to_target_needs_tau_to_stay() -> None:
    assert votes_to_target(np.array([0.0, 0.95, 0.85, 0.92, 0.93]), 10, 0.9) == 30
    assert votes_to_target(np.array([0.0, 0.95, 0.85]), 10, 0.9) == np.inf
    median, low, high = median_interval(np.array([10.0, 20.0, np.inf, np.inf, np.inf]))
    assert median == np.inf and low == 10.0 and high == np.inf


def test_active_beats_uniform_on_a_synthetic_oracle() -> None:
    settings = SelectionSettings(budget=1500, step=100)
    model = AnnotatorModel()

    def make(rng: np.random.Generator) -> SyntheticOracle:
        return SyntheticOracle.draw(n_systems=12, spread=0.5, annotators=model, rng=rng)

    results = simulate_selection(
        make, strategies=["uniform", "active"], seeds=4, settings=settings, target_tau=0.8
    )
    uniform, active = (r.taus[:, -5:].mean() for r in results)
    assert active > uniform
    report = summary(results, settings=settings, target_tau=0.8)
    assert set(report["strategies"]) == {"uniform", "active"}
    json.dumps(report)  # plain JSON: no infinities, no numpy numbers


def _scores_file(path: Path, systems: int = 5, items: int = 30, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with path.open("w") as handle:
        for item in range(items):
            for k in range(systems):
                score = k * 0.5 + rng.normal(0, 0.7)
                handle.write(json.dumps({"item": f"q{item}", "system": f"sys{k}", "score": score}) + "\n")
    return path


def test_scores_oracle(tmp_path: Path) -> None:
    table = ScoreTable.read(_scores_file(tmp_path / "scores.jsonl"))
    oracle = ScoresOracle(table, AnnotatorPool(AnnotatorModel(), np.random.default_rng(0)))
    assert oracle.systems == [f"sys{k}" for k in range(5)]
    assert list(np.argsort(oracle.truth)) == [0, 1, 2, 3, 4]
    rates = table.preference_rates()
    assert np.allclose(rates + rates.T, 1.0)
    taus = run_selection(
        oracle,
        strategy="active",
        settings=SelectionSettings(budget=600, step=100),
        rng=np.random.default_rng(1),
    )
    assert taus[-1] >= 0.8

    (tmp_path / "one.jsonl").write_text('{"item": "a", "system": "x", "score": 1}\n')
    with pytest.raises(OracleError, match="at least 2 systems"):
        ScoreTable.read(tmp_path / "one.jsonl")
    (tmp_path / "apart.jsonl").write_text(
        '{"item": "a", "system": "x", "score": 1}\n{"item": "b", "system": "y", "score": 2}\n'
    )
    with pytest.raises(OracleError, match="share no item"):
        ScoreTable.read(tmp_path / "apart.jsonl")


@pytest.mark.skipif(not PANDALM.exists(), reason="needs ../shared/data/pandalm_testset_v1.json")
def test_pandalm_oracle_spends_each_label_once() -> None:
    rows = read_pandalm(PANDALM)
    oracle = PandaLMOracle(rows, np.random.default_rng(0))
    assert len(oracle.systems) == 5 and oracle.labels() == 3 * len(rows)
    assert oracle.systems[int(np.argmax(oracle.truth))] == "llama-7b"
    taus = run_selection(
        oracle,
        strategy="active",
        settings=SelectionSettings(budget=4000, step=500),
        rng=np.random.default_rng(0),
    )
    assert oracle.labels() == 0  # the run stopped when every pair was spent
    assert taus[-1] == 1.0  # with every label in, the fit is the truth


def _simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([preflab_bin(), "simulate", *args], capture_output=True, text=True, timeout=120)


def test_cli_prints_one_json_object(tmp_path: Path) -> None:
    scores = _scores_file(tmp_path / "scores.jsonl")
    result = _simulate("--oracle", str(scores), "--seeds", "3", "--budget", "600", "--target-tau", "0.8")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["systems"] == 5 and report["seeds"] == 3 and report["target_tau"] == 0.8
    assert set(report["strategies"]) == {"uniform", "active"}
    for entry in report["strategies"].values():
        assert set(entry["votes_to_target"]) == {"median", "low", "high", "reached"}

    only = _simulate("--oracle", str(scores), "--strategy", "active", "--seeds", "2", "--budget", "300")
    assert only.returncode == 0 and set(json.loads(only.stdout)["strategies"]) == {"active"}


def test_cli_refuses_missing_and_bad_files(tmp_path: Path) -> None:
    missing = _simulate("--oracle", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 1 and "no scores file" in missing.stderr and not missing.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"item": "a", "system": "x", "score": 1}\n{"item": "a", "system": "y", "score": "high"}\n'
    )
    result = _simulate("--oracle", str(bad))
    assert result.returncode == 1 and "line 2" in result.stderr
    strategy = _simulate("--oracle", str(_scores_file(tmp_path / "s.jsonl")), "--strategy", "greedy")
    assert strategy.returncode != 0 and "unknown strategy" in strategy.stderr
