"""`preflab demo`'s seed: one campaign per task kind and per modality, media that are what they say."""

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, Modality, TaskKind
from app.config import Settings
from app.demo.seed import seed_demo
from app.items.models import Candidate, Comparison, Item
from app.media.models import CandidateMedia, MediaFile
from app.media.service import sniff, stored_path
from app.tasks.config import task_config
from app.tasks.service import current_rubric


def _seed() -> list[str]:
    return seed_demo(
        admin_email="a@demo.test", annotator_email="n@demo.test", password_factory=lambda: "pw-demo-123456"
    )


def _media(session: Session, slug: str) -> list[tuple[Candidate, MediaFile]]:
    return list(
        session.execute(
            select(Candidate, MediaFile)
            .join(Item, Candidate.item_id == Item.id)
            .join(Campaign, Item.campaign_id == Campaign.id)
            .join(CandidateMedia, CandidateMedia.candidate_id == Candidate.id)
            .join(MediaFile, CandidateMedia.media_id == MediaFile.id)
            .where(Campaign.slug == slug)
            .order_by(Candidate.id)
        )
    )


def _decoded_seconds(path: Path) -> float:
    """The clip's length as ffmpeg reads it (WebM headers carry no duration the store reads)."""
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    h, m, s = re.findall(r"time=(\d+):(\d+):([\d.]+)", result.stderr)[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_the_demo_seeds_every_kind_and_modality_once(session: Session, settings: Settings) -> None:
    first = _seed()
    second = _seed()
    campaigns = list(session.scalars(select(Campaign)))
    kinds = {c.task_kind for c in campaigns}
    assert kinds == set(TaskKind)
    assert {c.modality for c in campaigns} == set(Modality)
    for campaign in campaigns:
        items = session.scalar(select(func.count()).where(Item.campaign_id == campaign.id))
        units = session.scalar(select(func.count()).where(Comparison.campaign_id == campaign.id))
        assert items and (units or campaign.task_kind == TaskKind.arena), campaign.slug
    # Seeding again adds nothing and says so.
    assert len(second) == len(first)
    assert all("already seeded" in line for line in second[2:])
    created = [int(n) for n in re.findall(r"(\d+) new items", "\n".join(first))]
    prompts = [int(n) for n in re.findall(r"(\d+) prompts", "\n".join(first))]
    assert len(created) == len(campaigns) - 2  # every campaign but the two arenas reports its new items
    assert session.scalar(select(func.count()).select_from(Item)) == sum(created) + sum(prompts)

    by_slug = {c.slug: c for c in campaigns}
    rating = by_slug["demo-rating"]
    assert [a["name"] for a in current_rubric(session, campaign_id=rating.id).aspects][:2] == [
        "helpfulness",
        "correctness",
    ]
    assert current_rubric(session, campaign_id=by_slug["demo-pairwise-rubric"].id) is not None
    ranking_units = session.scalars(
        select(Comparison).where(Comparison.campaign_id == by_slug["demo-ranking"].id)
    )
    assert all(len(u.members) == 4 for u in ranking_units)
    assert all(
        item.questions
        for item in session.scalars(select(Item).where(Item.campaign_id == by_slug["demo-checklist"].id))
    )
    assert task_config(by_slug["demo-audio-codecs"]).min_listen_s == 3
    assert task_config(by_slug["demo-audio-time"]).segment_mode == "time"
    windows = task_config(by_slug["demo-video-windows"])
    assert windows.segment_mode == "windows" and windows.window_s == 1
    # Nothing of the scratch folder is left in the data dir: the files live in the store only.
    assert not list(settings.data_dir.glob("demo-media-*"))


def test_the_demo_media_are_what_they_claim(session: Session, settings: Settings) -> None:
    _seed()
    images = _media(session, "demo-image-codecs")
    assert len(images) == 6
    for (jpeg_candidate, jpeg), (webp_candidate, webp) in zip(images[::2], images[1::2], strict=True):
        assert jpeg_candidate.item_id == webp_candidate.item_id
        assert (jpeg.mime, webp.mime) == ("image/jpeg", "image/webp")
        assert jpeg.meta["width"] == webp.meta["width"] == 480
        assert abs(jpeg.size_bytes - webp.size_bytes) <= 0.15 * max(jpeg.size_bytes, webp.size_bytes)
    for _, file in images:
        path = stored_path(settings, file.sha256)
        assert sniff(path.read_bytes()[:512]) == file.mime and path.stat().st_size == file.size_bytes

    audio = _media(session, "demo-audio-codecs")
    assert [m.mime for _, m in audio] == ["audio/mpeg", "audio/ogg"] * 2
    for _, file in audio:
        assert 3.5 <= file.meta["duration_s"] <= 4.2  # above the campaign's 3 s minimum listening time
    assert {m.sha256 for _, m in _media(session, "demo-audio-time")} == {m.sha256 for _, m in audio}

    video = _media(session, "demo-video-windows")
    assert [m.mime for _, m in video] == ["video/webm"] * 4
    assert [c.meta["codec"] for c, _ in video] == ["vp8", "vp9"] * 2
    for (a, clip_a), (b, clip_b) in zip(video[::2], video[1::2], strict=True):
        assert a.item_id == b.item_id and clip_a.sha256 != clip_b.sha256
        seconds = [_decoded_seconds(stored_path(settings, f.sha256)) for f in (clip_a, clip_b)]
        assert abs(seconds[0] - seconds[1]) < 0.05 and 3.9 <= seconds[0] <= 4.1
