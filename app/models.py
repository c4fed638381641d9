"""Imports every domain's models so that `Base.metadata` is complete (Alembic, tests)."""

from app.arena.models import (
    Arena,
    ArenaSystem,
    ArenaVoter,
    Battle,
    BattleAnswer,
    BattleTag,
    LeaderboardSnapshot,
)
from app.audit.models import AuditEvent
from app.auth.models import ApiToken, User
from app.campaigns.models import Campaign
from app.crowd.models import CrowdParticipant, CrowdStudy
from app.db import Base
from app.invites.models import Invite
from app.items.models import Candidate, Comparison, Item
from app.jobs.models import Job
from app.judging.models import Judgement, JudgePrompt, LMJudge
from app.media.models import CandidateMedia, MediaFile
from app.qc.models import CampaignAnnotator
from app.releases.models import Release
from app.rewards.models import CandidateScore, RewardModel
from app.routing.models import RoutingDecision, RoutingPlan
from app.tasks.models import Rubric
from app.voting.models import Assignment, Vote

__all__ = [
    "ApiToken",
    "Arena",
    "ArenaSystem",
    "ArenaVoter",
    "Assignment",
    "AuditEvent",
    "Base",
    "Battle",
    "BattleAnswer",
    "BattleTag",
    "Campaign",
    "CampaignAnnotator",
    "Candidate",
    "CandidateMedia",
    "CandidateScore",
    "Comparison",
    "CrowdParticipant",
    "CrowdStudy",
    "Invite",
    "Item",
    "Job",
    "JudgePrompt",
    "Judgement",
    "LMJudge",
    "LeaderboardSnapshot",
    "MediaFile",
    "Release",
    "RewardModel",
    "RoutingDecision",
    "RoutingPlan",
    "Rubric",
    "User",
    "Vote",
]
