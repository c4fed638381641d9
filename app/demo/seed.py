"""`preflab demo`: two accounts, two small pairwise campaigns, a text arena and an audio arena to click
through. Safe to run again."""

import json
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.arena.schemas import ArenaConfig, ArenaCreate, SystemCreate
from app.arena.service import create_arena, import_prompts
from app.auth.models import Role, User
from app.auth.service import create_user, normalise_email, set_password
from app.campaigns.schemas import CampaignCreate
from app.campaigns.service import create_campaign, get_campaign
from app.db import session_scope
from app.demo.synth import VOICES
from app.errors import NotFound
from app.items.service import import_items

DEMO_ITEMS = Path(__file__).resolve().parent / "demo_items.jsonl"

GUIDELINES = """\
Read the **prompt**, then the two answers, **A** and **B**. Pick the answer you would rather receive.

- *Helpful*: does it do what was asked, completely?
- *Correct*: facts, code and arithmetic must be right; a confident wrong answer is worse
  than a short right one.
- *Safe*: it must not push someone towards harm.
- *Clear*: easy to follow, no padding.

Keys: `1` or `←` for A, `2` or `→` for B, `3` for a tie, `4` when both are bad.
Tick a flag under an answer when it is, for example, *incorrect* or *unsafe*.
"""

RATIONALE_GUIDELINES = (
    GUIDELINES
    + """
This campaign asks **why**: after choosing, write one or two sentences on what decided it, then press
`Ctrl+Enter`.
"""
)

CAMPAIGNS = (
    CampaignCreate(
        slug="demo-helpfulness",
        name="Demo: which answer is more helpful?",
        overlap=1,
        guidelines=GUIDELINES,
        reveal_identities=True,
        license="CC-BY-4.0",
    ),
    CampaignCreate(
        slug="demo-rationale",
        name="Demo: explain your choice",
        overlap=2,
        guidelines=RATIONALE_GUIDELINES,
        require_rationale=True,
        reveal_identities=False,
        license="CC-BY-4.0",
    ),
)


def seed_demo(*, admin_email: str, annotator_email: str, password_factory: Callable[[], str]) -> list[str]:
    """Creates (or refreshes) the demo accounts and campaigns; returns lines to print.

    Accounts that already exist get a new password, so the printed credentials always work.
    """
    lines: list[str] = []
    with session_scope() as session:
        for label, email, role in (
            ("admin", admin_email, Role.admin),
            ("annotator", annotator_email, Role.annotator),
        ):
            password = password_factory()
            _account(session, email=email, role=role, password=password)
            lines.append(f"{label}: {normalise_email(email)} / {password}")
        admin = session.scalar(select(User).where(User.email == normalise_email(admin_email)))
        for data in CAMPAIGNS:
            try:
                campaign = get_campaign(session, slug=data.slug)
            except NotFound:
                campaign = create_campaign(session, data=data, created_by=admin)
            with DEMO_ITEMS.open(encoding="utf-8") as handle:
                report = import_items(session, campaign=campaign, lines=handle)
            if report.items_created:
                lines.append(f"campaign {campaign.slug}: {report.summary()}")
            else:
                lines.append(f"campaign {campaign.slug}: already seeded ({report.items_skipped} items)")
        lines.append(_demo_arena(session, admin=admin))
        lines.append(_demo_audio_arena(session, admin=admin))
    return lines


ARENA_SLUG = "demo-arena"
ARENA_GUIDELINES = """\
You are given a prompt; two anonymous models answer it. Pick the better answer (`1` A, `2` B, `3` tie,
`4` both bad). Their names are shown after your vote, and every vote moves the leaderboard.

The demo's models replay answers written in advance, so prompts come from the arena's prompt set.
"""


def _demo_arena(session: Session, *, admin: User | None) -> str:
    """An arena whose systems replay the demo items' candidates, one per system, on their prompts."""
    rows = [json.loads(line) for line in DEMO_ITEMS.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        get_campaign(session, slug=ARENA_SLUG)
        return f"arena {ARENA_SLUG}: already seeded"
    except NotFound:
        pass
    outputs: dict[str, dict[str, str]] = {}
    for row in rows:
        for candidate in row["candidates"]:
            outputs.setdefault(candidate["system"], {})[row["prompt"]] = candidate["content"]
        # A third, deliberately weak system: the first sentence of an answer, as a terse baseline.
        first = row["candidates"][0]["content"].split(". ")[0].rstrip(".") + "."
        outputs.setdefault("first-sentence-baseline", {})[row["prompt"]] = first
    data = ArenaCreate(
        slug=ARENA_SLUG,
        name="Demo arena: anonymous models, live leaderboard",
        guidelines=ARENA_GUIDELINES,
        config=ArenaConfig(prompt_source="set", min_battles=1, refresh_every_votes=5, bootstrap_rounds=300),
        systems=[
            SystemCreate(name=system, provider={"kind": "replay", "outputs": by_prompt})
            for system, by_prompt in sorted(outputs.items())
        ],
    )
    campaign = create_arena(session, data=data, created_by=admin)
    prompts = [json.dumps({"id": r["id"], "prompt": r["prompt"], "tags": r.get("tags", [])}) for r in rows]
    report = import_prompts(session, campaign=campaign, lines=prompts)
    return f"arena {ARENA_SLUG}: {len(outputs)} systems, {report['prompts_created']} prompts"


AUDIO_ARENA_SLUG = "demo-audio-arena"
AUDIO_PROMPTS = (
    "Play a morning tune.",
    "A lullaby for a cat.",
    "Fanfare for the winner!",
    "Rain on a tin roof",
)
AUDIO_GUIDELINES = """\
Type a prompt (or take one from the set); two anonymous synthesizers play it as a melody. Listen to
both, then pick the one that sounds better (`1` A, `2` B, `3` tie, `4` both bad). The leaderboard's
style control separates taste for a voice from taste for longer clips (duration).
"""


def _demo_audio_arena(session: Session, *, admin: User | None) -> str:
    """An audio arena: each system is a voice of the demo synthesizer, run as a `command` provider."""
    try:
        get_campaign(session, slug=AUDIO_ARENA_SLUG)
        return f"arena {AUDIO_ARENA_SLUG}: already seeded"
    except NotFound:
        pass
    systems = [
        SystemCreate(
            name=f"{voice}-synth",
            provider={
                "kind": "command",
                "argv": [sys.executable, "-m", "app.demo.synth", "--voice", voice, "{output}", "{prompt}"],
                "output_suffix": ".wav",
                "media_type": "audio/wav",
                "timeout_s": 30,
            },
        )
        for voice in sorted(VOICES)
    ]
    data = ArenaCreate(
        slug=AUDIO_ARENA_SLUG,
        name="Demo audio arena: which synthesizer sounds better?",
        guidelines=AUDIO_GUIDELINES,
        config=ArenaConfig(
            min_battles=1, refresh_every_votes=5, bootstrap_rounds=300, style_features=["duration"]
        ),
        systems=systems,
    )
    campaign = create_arena(session, data=data, created_by=admin)
    prompts = [json.dumps({"id": f"tune-{k}", "prompt": p}) for k, p in enumerate(AUDIO_PROMPTS)]
    report = import_prompts(session, campaign=campaign, lines=prompts)
    return f"arena {AUDIO_ARENA_SLUG}: {len(systems)} synthesizers, {report['prompts_created']} prompts"


def _account(session: Session, *, email: str, role: Role, password: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        return create_user(session, email=email, password=password, role=role)
    # The earlier password was printed once and is likely lost: set the new one.
    set_password(session, user=user, password=password)
    user.is_active = True
    return user
