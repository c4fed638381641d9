"""Generation jobs whose outputs are files: stored in the media store, attached to candidates, duplicates
dropped by content, the provider's files cleaned up, and an unusable output failing the job."""

import sys

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.config import Settings
from app.items.models import Candidate, Comparison
from app.media.models import CandidateMedia, MediaFile
from app.media.service import scratch_dir
from tests.api_helpers import bearer, wait_for_job
from tests.factories import seed_campaign
from tests.generation.test_command import WAV_WRITER
from tests.media.samples import PNG_WRITER

PY = sys.executable


def _painter(name: str) -> dict:
    return {
        "name": name,
        "provider": {
            "kind": "command",
            "argv": [PY, "-c", PNG_WRITER, "{output}", "{seed}"],
            "output_suffix": ".png",
            "media_type": "image/png",
        },
    }


def _generate(client: TestClient, headers: dict[str, str], body: dict) -> dict:
    r = client.post("/api/v1/campaigns/demo/generate", json=body, headers=headers)
    assert r.status_code == 202, r.text
    return wait_for_job(client, headers, r.json()["id"])


def test_media_outputs_become_candidates_with_their_files(
    client: TestClient, session: Session, settings: Settings
) -> None:
    seed_campaign(session, n_items=2)  # 2 text candidates per item
    researcher = bearer(session, "res@example.org", Role.researcher)
    speaker = {
        "name": "speaker",
        "provider": {
            "kind": "command",
            "argv": [PY, "-c", WAV_WRITER, "{output}", "{seed}"],
            "output_suffix": ".wav",
            "media_type": "audio/wav",
        },
    }
    # "copycat" runs the same program with the same seeds: every one of its files is a duplicate.
    body = {"systems": [_painter("painter"), _painter("copycat"), speaker], "params": {"n": 2, "seed": 1}}
    job = _generate(client, researcher, body)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["candidates"] == 2 * 4 and job["result"]["duplicates_dropped"] == 2 * 2

    generated = session.scalars(select(Candidate).where(Candidate.system.in_(["painter", "speaker"]))).all()
    assert len(generated) == 8 and all(c.content == "" for c in generated)
    assert not session.scalars(select(Candidate).where(Candidate.system == "copycat")).all()
    # 2 images and 2 sounds, each stored once though every item made them.
    mimes = session.execute(select(MediaFile.mime, func.count()).group_by(MediaFile.mime)).all()
    assert sorted(mimes) == [("audio/wav", 2), ("image/png", 2)]
    assert session.scalar(select(func.count()).select_from(CandidateMedia)) == 8
    assert session.scalar(select(func.count()).select_from(Comparison)) == 2 * (6 * 5 // 2)
    assert generated[0].meta["generation"]["provider"] == "command"
    assert list(scratch_dir(settings).iterdir()) == []  # the provider's files were removed

    session.rollback()  # SQLite: let the next job write

    # Another system making the same files adds nothing: they are duplicates of what is there.
    again = _generate(client, researcher, {**body, "systems": [_painter("painter-2")]})
    assert again["status"] == "succeeded" and again["result"]["candidates"] == 0


def test_an_output_of_an_unaccepted_type_fails_the_job(
    client: TestClient, session: Session, settings: Settings
) -> None:
    seed_campaign(session, n_items=1)
    researcher = bearer(session, "res@example.org", Role.researcher)
    writes_text = {
        "name": "liar",
        "provider": {
            "kind": "command",
            "argv": [PY, "-c", "import sys; open(sys.argv[1], 'w').write('not a picture')", "{output}"],
            "output_suffix": ".png",
            "media_type": "image/png",
        },
    }
    job = _generate(client, researcher, {"systems": [writes_text]})
    assert job["status"] == "failed" and job["error"].startswith("liar: sample 0:")
    assert "not a media type" in job["error"]
    assert session.scalar(select(func.count()).select_from(MediaFile)) == 0
    assert list(scratch_dir(settings).iterdir()) == []
