"""LM-judge runs: each pair of a campaign asked in both orders, a judgement and the judge's vote stored
per pair, in its own short transaction (so a crash or a cancel keeps what was judged, and a rerun
skips it)."""

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import session_scope
from app.judging import service
from app.judging.models import JudgePrompt, LMJudge
from app.judging.providers import Answer, JudgeBackend, JudgeError, Pair, make_backend
from app.judging.schemas import JudgeSampling, RewardModelJudgeConfig
from app.rewards import service as rewards_service
from app.rewards.models import CandidateScore
from workers.celery_app import celery_app
from workers.job_runner import JobContext, JobFailed, run_job


@celery_app.task(name="preflab.judging.judge")
def judge(job_id: str) -> dict[str, Any]:
    return run_job(job_id, _judge)


def _judge(ctx: JobContext) -> tuple[dict[str, Any], str]:
    with session_scope() as session:
        lm_judge = service.get_judge(session, public_id=str(ctx.params["judge"]))
        prompt = service.get_prompt(session, judge=lm_judge, version=int(ctx.params["prompt_version"]))
        pairs = service.pairs_to_judge(
            session,
            judge=lm_judge,
            prompt=prompt,
            comparison_ids=ctx.params.get("comparison_ids"),
            limit=ctx.params.get("limit"),
        )
        provider = service.provider_config(lm_judge)
        scores = (
            _scores(session, reward_model=str(ctx.params["reward_model"]), pairs=pairs)
            if isinstance(provider, RewardModelJudgeConfig)
            else None
        )
        judge_id, prompt_id, template = lm_judge.id, prompt.id, prompt.template
        sampling = JudgeSampling.model_validate(lm_judge.sampling)
    if not pairs:
        return {"judged": 0, "failed": 0}, "nothing to judge: every pair has a judgement under this prompt"
    try:
        backend = make_backend(provider, template=template, sampling=sampling, scores=scores)
    except JudgeError as exc:
        raise JobFailed(str(exc)) from exc

    judged = failed = consistent = 0
    first_error = ""
    for done, pair in enumerate(pairs):
        if ctx.should_stop():
            ctx.progress(done / len(pairs), "cancelling")  # raises JobCancelled
        forward, backward, error, outputs = _ask_both(backend=backend, pair=pair)
        with session_scope() as session:
            judgement = service.record_judgement(
                session,
                judge=session.get_one(LMJudge, judge_id),
                prompt=session.get_one(JudgePrompt, prompt_id),
                pair=pair,
                forward=forward,
                backward=backward,
                error=error,
                forward_output=outputs[0],
                backward_output=outputs[1],
            )
            ok, swap_consistent = judgement.label is not None, bool(judgement.swap_consistent)
        judged, failed = judged + ok, failed + (not ok)
        consistent += ok and swap_consistent
        first_error = first_error or error
        ctx.progress((done + 1) / len(pairs), f"{judged} of {len(pairs)} pairs judged, {failed} failed")
    if not judged:
        raise JobFailed(f"every pair failed ({failed}); the first error: {first_error}")
    result = {
        "judged": judged,
        "failed": failed,
        "swap_consistency": consistent / judged,
    }
    message = f"{judged} pairs judged ({consistent} swap-consistent)" + (
        f", {failed} failed" if failed else ""
    )
    return result, message


def _ask_both(
    *, backend: JudgeBackend, pair: Pair
) -> tuple[Answer | None, Answer | None, str, tuple[str, str]]:
    """Both orders of one pair; a failure of either is the pair's error (the other answer is kept)."""
    answers: list[Answer | None] = []
    outputs: list[str] = []
    errors: list[str] = []
    for a_first in (True, False):
        try:
            answer = backend.ask(pair, a_first=a_first)
        except JudgeError as exc:
            answers.append(None)
            outputs.append(exc.output)
            errors.append(f"{'forward' if a_first else 'backward'}: {exc}")
            continue
        answers.append(answer)
        outputs.append(answer.output)
    return answers[0], answers[1], "; ".join(errors), (outputs[0], outputs[1])


def _scores(session: Session, *, reward_model: str, pairs: list[Pair]) -> dict[int, float]:
    """The reward model's stored scores for the pairs' candidates; the ones it has not scored yet are
    scored now (not stored: a scoring job owns CandidateScore)."""
    model = rewards_service.get_version(session, public_id=reward_model)
    wanted = {c for pair in pairs for c in (pair.a_id, pair.b_id)}
    scores = dict(
        session.execute(
            select(CandidateScore.candidate_id, CandidateScore.score).where(
                CandidateScore.reward_model_id == model.id, CandidateScore.candidate_id.in_(wanted)
            )
        ).all()
    )
    missing = sorted(wanted - set(scores))
    if not missing:
        return scores
    if not Path(model.artifact_path).is_dir():
        raise JobFailed(
            f"reward model {reward_model}'s files are missing at {model.artifact_path}; retrain it"
        )
    from workers.ml.reward import load_reward_model

    texts = {pair.a_id: (pair.prompt, pair.a_text) for pair in pairs} | {
        pair.b_id: (pair.prompt, pair.b_text) for pair in pairs
    }
    loaded = load_reward_model(model.artifact_path)
    values = loaded.score([texts[c][0] for c in missing], [texts[c][1] for c in missing])
    scores.update({c: float(v) for c, v in zip(missing, values, strict=True)})
    return scores
