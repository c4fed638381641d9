"""`preflab demo`: two accounts, two small pairwise campaigns, one campaign per task kind (rating,
pairwise with a rubric, ranking, text spans, checklist, single) and per media modality (image, audio,
video, with media made on the spot by app/demo/media.py), a text arena and an audio arena to click
through. Safe to run again."""

import json
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.arena.schemas import ArenaConfig, ArenaCreate, SystemCreate
from app.arena.service import create_arena, import_prompts
from app.auth.models import Role, User
from app.auth.service import create_user, normalise_email, set_password
from app.campaigns.models import Campaign, Modality, TaskKind
from app.campaigns.schemas import CampaignCreate
from app.campaigns.service import create_campaign, get_campaign
from app.config import get_settings
from app.db import session_scope
from app.demo import media
from app.demo.synth import VOICES
from app.errors import NotFound
from app.items.models import Item
from app.items.schemas import ImportReport
from app.items.service import import_items
from app.tasks.schemas import HELPSTEER2, RubricSpec, TaskConfig

DEMO_ITEMS = Path(__file__).resolve().parent / "demo_items.jsonl"
RANKING_ITEMS = Path(__file__).resolve().parent / "ranking_items.jsonl"

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
            lines.append(_seeded(campaign, report))
        for data, source in TEXT_KINDS:
            campaign = _campaign(session, data=data, admin=admin)
            lines.append(_seeded(campaign, import_items(session, campaign=campaign, lines=source())))
        lines += _media_campaigns(session, admin=admin)
        lines.append(_demo_arena(session, admin=admin))
        lines.append(_demo_audio_arena(session, admin=admin))
    return lines


def _campaign(session: Session, *, data: CampaignCreate, admin: User | None) -> Campaign:
    try:
        return get_campaign(session, slug=data.slug)
    except NotFound:
        return create_campaign(session, data=data, created_by=admin)


def _seeded(campaign: Campaign, report: ImportReport) -> str:
    if report.items_created:
        return f"campaign {campaign.slug}: {report.summary()}"
    return f"campaign {campaign.slug}: already seeded ({report.items_skipped} items)"


def _demo_lines() -> list[str]:
    return [line for line in DEMO_ITEMS.read_text(encoding="utf-8").splitlines() if line.strip()]


CHECKLIST_QUESTIONS = [
    {"id": "answers", "text": "Does it do what the prompt asks?"},
    {"id": "correct", "text": "Is everything it states correct?"},
    {"id": "safe", "text": "Is it safe to follow?"},
    {"id": "concise", "text": "Is it free of padding and repetition?"},
]


def _checklist_lines() -> list[str]:
    return [json.dumps({**json.loads(line), "questions": CHECKLIST_QUESTIONS}) for line in _demo_lines()]


def _ranking_lines() -> list[str]:
    return [line for line in RANKING_ITEMS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _kind(slug: str, name: str, guidelines: str, **fields: object) -> CampaignCreate:
    return CampaignCreate.model_validate(
        {"slug": slug, "name": name, "guidelines": guidelines, "overlap": 1, "license": "CC-BY-4.0", **fields}
    )


# One campaign per text task kind, each on the demo's own items.
TEXT_KINDS: tuple[tuple[CampaignCreate, Callable[[], Iterable[str]]], ...] = (
    (
        _kind(
            "demo-rating",
            "Demo: rate one answer (HelpSteer2)",
            "Read the prompt and the answer, then rate it on each of HelpSteer2's five aspects, 0 (very "
            "low) to 4 (very high). *Verbosity* and *complexity* describe the answer; they are not praise.",
            task_kind=TaskKind.rating,
        ),
        _demo_lines,
    ),
    (
        _kind(
            "demo-pairwise-rubric",
            "Demo: pick the better answer, and rate both",
            GUIDELINES + "\nThen rate **both** answers for helpfulness and correctness (0 to 4).\n",
            task_kind=TaskKind.pairwise,
            rubric=RubricSpec(
                aspects=[a for a in HELPSTEER2.aspects if a.name in ("helpfulness", "correctness")]
            ),
        ),
        _demo_lines,
    ),
    (
        _kind(
            "demo-ranking",
            "Demo: rank four answers",
            "Order the answers from best to worst. Put two answers in the same place when you cannot tell "
            "them apart.",
            task_kind=TaskKind.ranking,
        ),
        _ranking_lines,
    ),
    (
        _kind(
            "demo-spans",
            "Demo: mark what is wrong in an answer",
            "Select each stretch of the answer that is **irrelevant**, **incorrect**, **incomplete** or "
            "**unsafe** and give it that label (*other* for anything else). Leave good text unmarked.",
            task_kind=TaskKind.segment,
            task_config=TaskConfig(segment_mode="spans"),
        ),
        _demo_lines,
    ),
    (
        _kind(
            "demo-checklist",
            "Demo: answer a checklist about one answer",
            "Answer every question about the answer with yes or no.",
            task_kind=TaskKind.checklist,
        ),
        _checklist_lines,
    ),
    (
        _kind(
            "demo-single",
            "Demo: thumbs up or down",
            "Would you be glad to receive this answer? Thumbs up or thumbs down.",
            task_kind=TaskKind.single,
        ),
        _demo_lines,
    ),
)

IMAGE_SCENES = (1, 2, 3)
AUDIO_VOICES = ((1, 120.0), (2, 195.0))
VIDEO_CLIPS = (1, 2)
MEDIA_KINDS: tuple[tuple[str, CampaignCreate], ...] = (
    (
        "image",
        _kind(
            "demo-image-codecs",
            "Demo: which picture looks better? (JPEG vs WebP, same size)",
            "Both pictures are the same scene, compressed to about the same file size by two codecs. "
            "Pick the one that looks closer to a clean photo: fewer blocks, less smearing, truer edges.",
            modality=Modality.image,
        ),
    ),
    (
        "audio",
        _kind(
            "demo-audio-codecs",
            "Demo: which clip sounds better? (MP3 vs Opus, low bitrate)",
            "Both clips are the same synthesized voice, encoded by two codecs at low bitrates. Listen to "
            "each for at least 3 seconds, then pick the one that sounds cleaner.",
            modality=Modality.audio,
            task_config=TaskConfig(min_listen_s=3),
        ),
    ),
    (
        "audio",
        _kind(
            "demo-audio-time",
            "Demo: mark where a clip sounds wrong",
            "Play the clip and mark each stretch where it sounds **garbled**, **muffled** or **noisy** "
            "(*other* for anything else).",
            task_kind=TaskKind.segment,
            modality=Modality.audio,
            task_config=TaskConfig(segment_mode="time", taxonomy=["garbled", "muffled", "noisy", "other"]),
        ),
    ),
    (
        "video",
        _kind(
            "demo-video-windows",
            "Demo: second by second, which clip looks better? (VP8 vs VP9)",
            "The two clips show the same frames, encoded by VP8 and VP9 at the same bitrate. For every "
            "second, say which one looks better, or a tie (DenseDPO-style windows).",
            task_kind=TaskKind.segment,
            modality=Modality.video,
            task_config=TaskConfig(segment_mode="windows", window_s=1),
        ),
    ),
)
MEDIA_PROMPTS = {
    "image": "Which picture looks better?",
    "audio": "Which clip sounds cleaner?",
    "video": "Which clip looks better, second by second?",
}
# Campaigns that share their modality's media but ask something else of it.
PROMPT_FOR_CAMPAIGN = {"demo-audio-time": "Where does this clip sound wrong?"}


def _media_campaigns(session: Session, *, admin: User | None) -> list[str]:
    """The image, audio and video campaigns. Their media are made only when a campaign still lacks
    items, in a temporary folder under the data directory, and enter the store through the import."""
    campaigns = [(modality, _campaign(session, data=data, admin=admin)) for modality, data in MEDIA_KINDS]
    counts = {
        campaign.slug: session.scalar(select(func.count()).where(Item.campaign_id == campaign.id)) or 0
        for _, campaign in campaigns
    }
    if all(counts.values()):
        return [f"campaign {c.slug}: already seeded ({counts[c.slug]} items)" for _, c in campaigns]
    data_dir = get_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    out = []
    with tempfile.TemporaryDirectory(prefix="demo-media-", dir=data_dir) as scratch:
        folder = Path(scratch)
        lines = _media_lines(folder)
        for modality, campaign in campaigns:
            own = lines[modality]
            if campaign.slug in PROMPT_FOR_CAMPAIGN:
                own = [
                    json.dumps(json.loads(line) | {"prompt": PROMPT_FOR_CAMPAIGN[campaign.slug]})
                    for line in own
                ]
            report = import_items(session, campaign=campaign, lines=own, media_base=folder)
            out.append(_seeded(campaign, report))
    return out


def _media_lines(folder: Path) -> dict[str, list[str]]:
    made: dict[str, list[tuple[str, list[media.Variant]]]] = {
        "image": [(f"scene-{n}", media.image_pair(folder, name=f"scene-{n}", seed=n)) for n in IMAGE_SCENES],
        "audio": [
            (f"voice-{n}", media.audio_pair(folder, name=f"voice-{n}", pitch_hz=pitch, seed=n))
            for n, pitch in AUDIO_VOICES
        ],
        "video": [(f"clip-{n}", media.video_pair(folder, name=f"clip-{n}", seed=n)) for n in VIDEO_CLIPS],
    }
    return {
        modality: [
            json.dumps(
                {
                    "id": f"demo-{name}",
                    "prompt": MEDIA_PROMPTS[modality],
                    "tags": [modality],
                    "candidates": [
                        {"system": v.system, "media": [v.path], "metadata": v.meta} for v in variants
                    ],
                }
            )
            for name, variants in items
        ]
        for modality, items in made.items()
    }


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
