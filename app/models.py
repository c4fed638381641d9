"""Imports every domain's models so that `Base.metadata` is complete (Alembic, tests)."""

from app.auth.models import ApiToken, User
from app.campaigns.models import Campaign
from app.db import Base
from app.items.models import Candidate, Comparison, Item
from app.jobs.models import Job
from app.rewards.models import CandidateScore, RewardModel
from app.voting.models import Assignment, Vote

__all__ = [
    "ApiToken",
    "Assignment",
    "Base",
    "Campaign",
    "Candidate",
    "CandidateScore",
    "Comparison",
    "Item",
    "Job",
    "RewardModel",
    "User",
    "Vote",
]
