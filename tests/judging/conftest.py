"""Fixtures for LM-judge tests: a campaign of pairs, a researcher, and a rule-following judge server."""

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.campaigns.models import Campaign
from tests.api_helpers import bearer
from tests.factories import seed_campaign
from tests.judging.judge_server import RuleJudge, serve_judge
from tests.support.openai_server import OpenAIServer


@pytest.fixture
def rule_judge() -> RuleJudge:
    return RuleJudge()


@pytest.fixture
def judge_server(rule_judge: RuleJudge) -> Iterator[OpenAIServer]:
    with serve_judge(rule_judge) as server:
        yield server


@pytest.fixture
def campaign(session: Session) -> Campaign:
    """Four items, each one pair: alpha's answer (candidate a) is shorter than beta's (b)."""
    return seed_campaign(session, n_items=4)


@pytest.fixture
def researcher(session: Session) -> dict[str, str]:
    return bearer(session, "res@example.org", Role.researcher)
