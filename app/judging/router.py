"""JSON API for LM judges: create and list a campaign's judges, their prompt versions, runs and
judgements. Researchers only."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.campaigns.dependencies import CampaignDep
from app.deps import Researcher, SessionDep
from app.jobs import service as jobs_service
from app.jobs.schemas import JobRead
from app.judging import flows, service
from app.judging.schemas import JudgeCreate, JudgementPage, JudgeRead, PromptRead, PromptUpdate, RunRequest

router = APIRouter(prefix="/api/v1", tags=["judges"])


@router.post("/campaigns/{slug}/judges", status_code=status.HTTP_201_CREATED, response_model=JudgeRead)
def create_judge(
    data: JudgeCreate, campaign: CampaignDep, session: SessionDep, user: Researcher
) -> JudgeRead:
    """A judge and the annotator (kind model) it votes as; its prompt starts at version 1 (the
    template given, or the default)."""
    judge = service.create_judge(session, campaign=campaign, data=data, created_by=user)
    return service.to_read(session, judge)


@router.get("/campaigns/{slug}/judges", response_model=list[JudgeRead])
def list_judges(campaign: CampaignDep, session: SessionDep, user: Researcher) -> list[JudgeRead]:
    return [service.to_read(session, j) for j in service.list_judges(session, campaign=campaign)]


@router.get("/judges/{judge_id}", response_model=JudgeRead)
def read_judge(judge_id: str, session: SessionDep, user: Researcher) -> JudgeRead:
    return service.to_read(session, service.get_judge(session, public_id=judge_id))


@router.get("/judges/{judge_id}/prompt", response_model=PromptRead)
def read_prompt(judge_id: str, session: SessionDep, user: Researcher) -> PromptRead:
    judge = service.get_judge(session, public_id=judge_id)
    return service.prompt_read(session, prompt=service.current_prompt(session, judge=judge))


@router.put("/judges/{judge_id}/prompt", response_model=PromptRead)
def update_prompt(judge_id: str, data: PromptUpdate, session: SessionDep, user: Researcher) -> PromptRead:
    """Edits the current version while no judgement used it; otherwise stores the next version."""
    judge = service.get_judge(session, public_id=judge_id)
    return service.prompt_read(
        session, prompt=service.set_prompt(session, judge=judge, template=data.template)
    )


@router.get("/judges/{judge_id}/prompt/versions", response_model=list[PromptRead])
def list_prompt_versions(judge_id: str, session: SessionDep, user: Researcher) -> list[PromptRead]:
    judge = service.get_judge(session, public_id=judge_id)
    return [service.prompt_read(session, prompt=p) for p in service.prompt_versions(session, judge=judge)]


@router.post("/judges/{judge_id}/run", status_code=status.HTTP_202_ACCEPTED, response_model=JobRead)
def run_judge(
    judge_id: str, session: SessionDep, user: Researcher, data: RunRequest | None = None
) -> JobRead:
    """A job that judges the campaign's pairs (all, the listed ones, or the first `limit`) in both
    orders with the current prompt version; pairs it already judged under that version are skipped."""
    judge = service.get_judge(session, public_id=judge_id)
    job = flows.start_run(session, judge=judge, request=data or RunRequest(), user=user)
    return jobs_service.to_read(session, job)


@router.get("/judges/{judge_id}/judgements", response_model=JudgementPage)
def list_judgements(
    judge_id: str,
    session: SessionDep,
    user: Researcher,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JudgementPage:
    judge = service.get_judge(session, public_id=judge_id)
    return service.list_judgements(session, judge=judge, limit=limit, offset=offset)
