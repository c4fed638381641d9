"""Postgres fast path for the two hot requests: `next` and `vote` as one SQL statement each.

service.py is the reference: it handles every case (errors, retries, reclaiming expired leases, flags,
other task kinds, rubrics, task settings, selection strategies, quality control, answers beyond A/B,
SQLite). This module handles only the common success of a plain pairwise campaign on Postgres, in one
round trip on a pooled connection and without ORM objects, because the ORM's unit of work cost about
5 ms of CPU per request, more than everything else together (benchmarks/README.md).
Whenever a statement finds anything other than the plain case it returns no row, having changed
nothing, and the caller runs the reference path, which then answers with the right error or result.
Each statement is also safe to send twice (db.fetch_one resends it after a dropped connection): a
second `next` finds the lease the first made, a second `vote` finds the assignment already completed.
tests/voting run the same checks against both paths.
"""

from datetime import UTC, datetime
from typing import Any

from app.auth.models import Role
from app.auth.security import hash_token
from app.db import fetch_one
from app.deps import Identity
from app.media.service import media_url
from app.voting.models import new_assignment_id
from app.voting.schemas import AssignmentRead, ShownCandidate, ShownMedia, VoteCreate, VoteRead

_ANNOTATING_ROLES = [role.value for role in Role if role.at_least(Role.annotator)]

# Who asks: an active user with an annotating role, by API token or by session cookie.
_ME_BY_TOKEN = """
    SELECT u.id FROM api_token t JOIN "user" u ON u.id = t.user_id
    WHERE t.token_hash = %(token_hash)s AND t.revoked_at IS NULL
      AND u.is_active AND u.role = ANY(%(roles)s)
"""
_ME_BY_SESSION = """
    SELECT u.id FROM "user" u WHERE u.id = %(user_id)s AND u.is_active AND u.role = ANY(%(roles)s)
"""

# `live` is the annotator's unexpired lease; only when there is none, `pick` takes the first open
# comparison they never had (rows other transactions hold are skipped), `claimed` takes its slot and
# `leased` records the assignment with the side order chosen by the caller.
_NEXT = """
WITH me AS ({me}),
campaign AS (
    SELECT id, lease_seconds FROM campaign
    WHERE slug = %(slug)s AND status = 'active' AND task_kind = 'pairwise' AND task_config = '{{}}'::jsonb
      AND selection = '{{}}'::jsonb AND quality = '{{}}'::jsonb
      AND NOT EXISTS (SELECT FROM rubric r WHERE r.campaign_id = campaign.id)
),
live AS (
    SELECT a.public_id, a.left_candidate_id, a.right_candidate_id, a.lease_expires_at
    FROM assignment a
    WHERE a.annotator_id = (SELECT id FROM me) AND a.campaign_id = (SELECT id FROM campaign)
      AND a.status = 'leased' AND a.lease_expires_at > %(now)s
    ORDER BY a.id LIMIT 1
),
pick AS (
    SELECT c.id FROM comparison c
    WHERE c.campaign_id = (SELECT id FROM campaign) AND c.open_slots > 0
      AND EXISTS (SELECT FROM me) AND NOT EXISTS (SELECT FROM live)
      -- OFFSET 0 keeps Postgres from turning this into a merge anti-join over the whole index.
      AND NOT EXISTS (
          SELECT 1 FROM assignment s
          WHERE s.comparison_id = c.id AND s.annotator_id = (SELECT id FROM me) OFFSET 0
      )
    ORDER BY c.priority DESC, c.id LIMIT 1
    FOR UPDATE OF c SKIP LOCKED
),
claimed AS (
    UPDATE comparison c SET open_slots = c.open_slots - 1 FROM pick WHERE c.id = pick.id
    RETURNING c.id, c.candidate_a_id, c.candidate_b_id
),
leased AS (
    INSERT INTO assignment (public_id, campaign_id, comparison_id, annotator_id, left_candidate_id,
                            right_candidate_id, status, leased_at, lease_expires_at)
    SELECT %(assignment_id)s, (SELECT id FROM campaign), claimed.id, (SELECT id FROM me),
           CASE WHEN %(flip)s THEN claimed.candidate_b_id ELSE claimed.candidate_a_id END,
           CASE WHEN %(flip)s THEN claimed.candidate_a_id ELSE claimed.candidate_b_id END,
           'leased', %(now)s,
           %(now)s + make_interval(secs => (SELECT lease_seconds FROM campaign))
    FROM claimed
    RETURNING public_id, left_candidate_id, right_candidate_id, lease_expires_at
),
shown AS (
    SELECT * FROM live
    UNION ALL
    SELECT * FROM leased
)
SELECT shown.public_id, shown.lease_expires_at, item.prompt, item.context,
       l.public_id, l.content, r.public_id, r.content,
       ({media} WHERE cm.candidate_id = l.id), ({media} WHERE cm.candidate_id = r.id)
FROM shown
JOIN candidate l ON l.id = shown.left_candidate_id
JOIN candidate r ON r.id = shown.right_candidate_id
JOIN item ON item.id = l.item_id
"""

# Each shown candidate's media in order, as [[public id, type, duration], ...], or NULL for text: one probe of
# candidate_media's primary key (candidate_id, position), so text campaigns pay next to nothing.
_MEDIA = """SELECT json_agg(json_build_array(m.public_id, m.mime, m.meta->'duration_s') ORDER BY cm.position)
    FROM candidate_media cm JOIN media_file m ON m.id = cm.media_id"""

# `target` locks the caller's own unexpired lease; the vote is stored only when the campaign's rules
# hold, and ON CONFLICT (the idempotency key already spent) leaves everything to the reference path.
_VOTE = """
WITH me AS ({me}),
target AS (
    SELECT a.id, a.campaign_id, a.comparison_id, a.annotator_id, a.left_candidate_id,
           a.right_candidate_id, a.leased_at
    FROM assignment a
    WHERE a.public_id = %(assignment_id)s AND a.annotator_id = (SELECT id FROM me)
      AND a.status = 'leased' AND a.lease_expires_at > %(now)s
    FOR UPDATE
),
campaign AS (
    SELECT c.id, c.reveal_identities FROM campaign c
    WHERE c.id = (SELECT campaign_id FROM target)
      AND c.task_kind = 'pairwise' AND c.task_config = '{{}}'::jsonb AND c.quality = '{{}}'::jsonb
      AND NOT EXISTS (SELECT FROM rubric r WHERE r.campaign_id = c.id)
      AND (NOT c.require_rationale OR %(has_rationale)s)
),
stored AS (
    INSERT INTO vote (public_id, assignment_id, campaign_id, comparison_id, annotator_id, outcome,
                      winner_candidate_id, loser_candidate_id, strength, rationale, flags,
                      time_on_task_ms, idempotency_key, created_at)
    SELECT %(vote_id)s, t.id, t.campaign_id, t.comparison_id, t.annotator_id, %(outcome)s,
           CASE %(side)s WHEN 'a' THEN t.left_candidate_id WHEN 'b' THEN t.right_candidate_id END,
           CASE %(side)s WHEN 'a' THEN t.right_candidate_id WHEN 'b' THEN t.left_candidate_id END,
           %(strength)s, %(rationale)s, '{{}}'::jsonb,
           floor(extract(epoch FROM %(now)s - t.leased_at) * 1000)::int, %(idempotency_key)s, %(now)s
    FROM target t, campaign
    ON CONFLICT DO NOTHING
    RETURNING assignment_id, comparison_id, time_on_task_ms
),
completed AS (
    UPDATE assignment a SET status = 'completed', completed_at = %(now)s
    FROM stored WHERE a.id = stored.assignment_id
),
counted AS (
    UPDATE comparison c SET vote_count = c.vote_count + 1
    FROM stored WHERE c.id = stored.comparison_id
)
SELECT stored.time_on_task_ms, campaign.reveal_identities, l.public_id, l.system, r.public_id, r.system
FROM stored, campaign, target
JOIN candidate l ON l.id = target.left_candidate_id
JOIN candidate r ON r.id = target.right_candidate_id
"""

_STATEMENTS = {
    (name, kind): sql.format(me=me, media=_MEDIA)
    for name, sql in (("next", _NEXT), ("vote", _VOTE))
    for kind, me in (("token", _ME_BY_TOKEN), ("session", _ME_BY_SESSION))
}


def _identity_params(identity: Identity) -> tuple[str, dict[str, Any]] | None:
    if identity is None:
        return None
    kind, value = identity
    if kind == "token":
        return "token", {"token_hash": hash_token(str(value)), "roles": _ANNOTATING_ROLES}
    return "session", {"user_id": int(value), "roles": _ANNOTATING_ROLES}


def next_assignment(*, slug: str, identity: Identity, now: datetime, flip: bool) -> AssignmentRead | None:
    """The annotator's live or newly leased task, or None when the reference path must decide."""
    who = _identity_params(identity)
    if who is None:
        return None
    kind, params = who
    params |= {"slug": slug, "now": now, "flip": flip, "assignment_id": new_assignment_id()}
    row = fetch_one(_STATEMENTS["next", kind], params)
    if row is None:
        return None
    (assignment_id, expires_at, prompt, context, left_id, left_content, right_id, right_content) = row[:8]
    left_media, right_media = row[8:]
    return AssignmentRead(
        assignment_id=assignment_id,
        campaign=slug,
        prompt=prompt,
        context=context or {},
        candidates=[
            ShownCandidate(id=left_id, content=left_content, media=_shown_media(left_media)),
            ShownCandidate(id=right_id, content=right_content, media=_shown_media(right_media)),
        ],
        lease_expires_at=expires_at.astimezone(UTC),
    )


def _shown_media(rows: list[list[Any]] | None) -> list[ShownMedia]:
    return [
        ShownMedia(url=media_url(public_id), mime=mime, duration_s=duration)
        for public_id, mime, duration in rows or []
    ]


def cast_vote(
    *,
    assignment_id: str,
    identity: Identity,
    data: VoteCreate,
    strength: int | None,
    idempotency_key: str | None,
    now: datetime,
) -> VoteRead | None:
    """Stores a first vote without flags and returns it, or None when the reference path must decide.

    `strength` has been checked against the outcome by the caller (service.check_strength).
    """
    who = _identity_params(identity)
    if who is None or data.outcome is None or any(data.flags.values()) or data.answer.model_fields_set:
        return None
    kind, params = who
    rationale = data.rationale.strip()
    preference = data.outcome in ("a", "b")
    vote_id = new_assignment_id()
    params |= {
        "assignment_id": assignment_id,
        "now": now,
        "has_rationale": bool(rationale),
        "vote_id": vote_id,
        "outcome": "preference" if preference else data.outcome,
        "side": data.outcome if preference else None,
        "strength": strength,
        "rationale": rationale,
        "idempotency_key": idempotency_key,
    }
    row = fetch_one(_STATEMENTS["vote", kind], params)
    if row is None:
        return None
    time_on_task_ms, reveal, left_id, left_system, right_id, right_system = row
    return VoteRead(
        id=vote_id,
        assignment_id=assignment_id,
        outcome=data.outcome,
        winner={"a": left_id, "b": right_id}.get(data.outcome),
        strength=strength,
        rationale=rationale,
        flags={},
        time_on_task_ms=time_on_task_ms,
        created_at=now,
        revealed={"a": left_system, "b": right_system} if reveal else None,
    )
