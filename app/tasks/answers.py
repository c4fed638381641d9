"""Checks an annotator's answer against the campaign's task kind and maps sides to candidates.

Every check raises Invalid with a message an annotator can act on; nothing is stored until the whole
answer holds. Stored answers name candidates by public id, never by side: side order differs per
annotator, and exports must not depend on what one annotator saw.
"""

import math
import re
from dataclasses import dataclass, field
from typing import Any

from app.campaigns.models import Campaign, TaskKind
from app.errors import Invalid
from app.tasks.schemas import SIDES, Aspect, ListenEvent, TaskAnswer, TaskConfig

_WORD = re.compile(r"\w", re.UNICODE)
# A clip's end as the player reports it can run past the header's duration by a frame or two.
DURATION_SLACK_S = 0.25


@dataclass(frozen=True)
class ShownOutput:
    """One candidate as shown, with what the checks need to know about it."""

    candidate_id: int
    public_id: str
    content: str
    mimes: tuple[str, ...] = ()
    duration_s: float | None = None

    @property
    def timed(self) -> bool:
        return any(m.startswith(("audio/", "video/")) for m in self.mimes)


@dataclass
class CheckedAnswer:
    answer: dict[str, Any] = field(default_factory=dict)
    listening_log: list[dict[str, Any]] | None = None


def check_answer(
    *,
    campaign: Campaign,
    config: TaskConfig,
    aspects: list[Aspect] | None,
    questions: list[dict[str, str]],
    shown: list[ShownOutput],
    outcome: str | None,
    answer: TaskAnswer,
    time_on_task_ms: int,
) -> CheckedAnswer:
    """The answer to store; raises Invalid when it does not fit the campaign."""
    sides = {SIDES[i]: output for i, output in enumerate(shown)}
    kind = campaign.task_kind
    wants = _wanted_parts(kind, config, has_rubric=bool(aspects))
    sent = {name for name in TaskAnswer.model_fields if getattr(answer, name) is not None} - {"listening_log"}
    unexpected = sorted(sent - wants)
    if unexpected:
        raise Invalid(
            f"a {kind.value} task does not take {', '.join(unexpected)}", field=f"answer.{unexpected[0]}"
        )
    missing = sorted(wants - sent)
    if missing:
        raise Invalid(f"this task needs {_describe_part(missing[0], kind)}", field=f"answer.{missing[0]}")
    if kind in (TaskKind.pairwise, TaskKind.arena):
        if outcome is None:
            raise Invalid("choose A, B, tie or both bad", field="outcome")
    elif outcome is not None:
        raise Invalid(f"a {kind.value} task asks no A/B preference; leave outcome out", field="outcome")

    checked = CheckedAnswer()
    if answer.ratings is not None:
        checked.answer["ratings"] = _ratings(answer.ratings, aspects or [], sides)
    if answer.ranking is not None:
        checked.answer["ranking"] = _ranking(answer.ranking, sides)
    if answer.spans is not None:
        checked.answer["spans"] = _spans(answer.spans, config, sides)
    if answer.time_ranges is not None:
        checked.answer["time_ranges"] = _time_ranges(answer.time_ranges, config, sides)
    if answer.windows is not None:
        checked.answer["windows"] = _windows(answer.windows, config, sides)
    if answer.checklist is not None:
        checked.answer["checklist"] = _checklist(answer.checklist, questions)
    if answer.thumb is not None:
        checked.answer["thumb"] = answer.thumb
    checked.listening_log = _listening(answer.listening_log, config, sides, time_on_task_ms)
    return checked


def _wanted_parts(kind: TaskKind, config: TaskConfig, *, has_rubric: bool) -> set[str]:
    if kind in (TaskKind.pairwise, TaskKind.arena):
        return {"ratings"} if has_rubric else set()
    if kind == TaskKind.rating:
        return {"ratings"}
    if kind == TaskKind.ranking:
        return {"ranking"}
    if kind == TaskKind.segment:
        return {{"spans": "spans", "time": "time_ranges", "windows": "windows"}[config.segment_mode]}
    if kind == TaskKind.checklist:
        return {"checklist"}
    return {"thumb"}


def _describe_part(part: str, kind: TaskKind) -> str:
    return {
        "ratings": "a rating of every aspect for every output shown",
        "ranking": "an ordering of all outputs (best first)",
        "spans": "the marked spans (send an empty list when there are none)",
        "time_ranges": "the marked time ranges (send an empty list when there are none)",
        "windows": "a preference (a, b or tie) for every window",
        "checklist": "a yes or no for every question",
        "thumb": "thumbs up or down",
    }.get(part, part)


def _side(sides: dict[str, ShownOutput], side: str, where: str) -> ShownOutput:
    if side not in sides:
        shown = ", ".join(sides) or "none"
        raise Invalid(f"side '{side}' was not shown (shown: {shown})", field=where)
    return sides[side]


def _ratings(
    ratings: dict[str, dict[str, int]], aspects: list[Aspect], sides: dict[str, ShownOutput]
) -> dict[str, dict[str, int]]:
    stored: dict[str, dict[str, int]] = {}
    for side in ratings:
        _side(sides, side, f"answer.ratings.{side}")
    for side, output in sides.items():
        given = ratings.get(side)
        if given is None:
            raise Invalid(f"rate output {side.upper()} too", field=f"answer.ratings.{side}")
        names = {a.name for a in aspects}
        unknown = sorted(set(given) - names)
        if unknown:
            raise Invalid(
                f"unknown aspect(s) {', '.join(unknown)}; the rubric has {', '.join(sorted(names))}",
                field=f"answer.ratings.{side}",
            )
        for aspect in aspects:
            if aspect.name not in given:
                raise Invalid(
                    f"rate {aspect.name} for output {side.upper()}",
                    field=f"answer.ratings.{side}.{aspect.name}",
                )
            value = given[aspect.name]
            if not aspect.min <= value <= aspect.max:
                raise Invalid(
                    f"{aspect.name} is rated {aspect.min} to {aspect.max}, not {value}",
                    field=f"answer.ratings.{side}.{aspect.name}",
                )
        stored[output.public_id] = {a.name: given[a.name] for a in aspects}
    return stored


def _ranking(ranking: list[list[str]], sides: dict[str, ShownOutput]) -> list[list[str]]:
    placed = [side for group in ranking for side in group]
    if any(not group for group in ranking):
        raise Invalid("a ranking has no empty places", field="answer.ranking")
    for side in placed:
        _side(sides, side, "answer.ranking")
    if len(placed) != len(set(placed)) or set(placed) != set(sides):
        raise Invalid(
            f"place every output exactly once ({', '.join(s.upper() for s in sides)})", field="answer.ranking"
        )
    return [sorted(sides[side].public_id for side in group) for group in ranking]


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widens [start, end) to whole words and trims surrounding blanks, so that two annotators who
    select the same words by a slightly different drag store the same span."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while start > 0 and _WORD.match(text[start - 1]) and _WORD.match(text[start]):
        start -= 1
    while end < len(text) and _WORD.match(text[end - 1]) and _WORD.match(text[end]):
        end += 1
    return start, end


def _label(label: str, config: TaskConfig, where: str) -> str:
    if label not in config.taxonomy:
        raise Invalid(
            f"unknown label '{label}'; this campaign uses {', '.join(config.taxonomy)}", field=where
        )
    return label


def _spans(spans: list[Any], config: TaskConfig, sides: dict[str, ShownOutput]) -> list[dict[str, Any]]:
    stored = []
    for index, span in enumerate(spans):
        where = f"answer.spans.{index}"
        output = _side(sides, span.side, where)
        if not span.start < span.end <= len(output.content):
            raise Invalid(
                f"span {span.start}..{span.end} is not within output {span.side.upper()}'s "
                f"{len(output.content)} characters",
                field=where,
            )
        start, end = snap_to_words(output.content, span.start, span.end)
        if start == end:
            raise Invalid("a span must cover some text, not only blanks", field=where)
        stored.append(
            {
                "candidate": output.public_id,
                "start": start,
                "end": end,
                "text": output.content[start:end],
                "label": _label(span.label, config, f"{where}.label"),
                "comment": span.comment.strip(),
            }
        )
    stored.sort(key=lambda s: (s["candidate"], s["start"], s["end"], s["label"]))
    return stored


def _time_ranges(
    ranges: list[Any], config: TaskConfig, sides: dict[str, ShownOutput]
) -> list[dict[str, Any]]:
    stored = []
    for index, marked in enumerate(ranges):
        where = f"answer.time_ranges.{index}"
        output = _side(sides, marked.side, where)
        if not output.timed:
            raise Invalid(f"output {marked.side.upper()} has no audio or video to mark", field=where)
        if not marked.start_s < marked.end_s:
            raise Invalid("a time range must end after it starts", field=where)
        if output.duration_s is not None and marked.end_s > output.duration_s + DURATION_SLACK_S:
            raise Invalid(
                f"the range ends at {marked.end_s:.2f} s, after the clip's end ({output.duration_s:.2f} s)",
                field=where,
            )
        stored.append(
            {
                "candidate": output.public_id,
                "start_s": round(marked.start_s, 3),
                "end_s": round(marked.end_s, 3),
                "label": _label(marked.label, config, f"{where}.label"),
                "comment": marked.comment.strip(),
            }
        )
    stored.sort(key=lambda r: (r["candidate"], r["start_s"], r["end_s"], r["label"]))
    return stored


def window_count(config: TaskConfig, shown: list[ShownOutput]) -> int | None:
    """How many fixed windows two aligned clips split into, or None when their length is unknown."""
    durations = [o.duration_s for o in shown if o.duration_s is not None]
    if len(durations) < len(shown) or not durations:
        return None
    return max(1, math.ceil(min(durations) / config.window_s - 1e-9))


def _windows(windows: list[str], config: TaskConfig, sides: dict[str, ShownOutput]) -> list[str]:
    if len(sides) != 2:
        raise Invalid("per-window preferences compare two clips", field="answer.windows")
    expected = window_count(config, list(sides.values()))
    if expected is not None and len(windows) != expected:
        raise Invalid(
            f"the clips split into {expected} windows of {config.window_s:g} s; {len(windows)} answered",
            field="answer.windows",
        )
    if not windows:
        raise Invalid("answer at least one window", field="answer.windows")
    return [w if w == "tie" else sides[w].public_id for w in windows]


def _checklist(checklist: dict[str, bool], questions: list[dict[str, str]]) -> dict[str, bool]:
    ids = [q["id"] for q in questions]
    unknown = sorted(set(checklist) - set(ids))
    if unknown:
        raise Invalid(f"unknown question(s) {', '.join(unknown)}", field="answer.checklist")
    missing = [q for q in ids if q not in checklist]
    if missing:
        raise Invalid(f"answer question {missing[0]} too", field=f"answer.checklist.{missing[0]}")
    return {q: checklist[q] for q in ids}


def listened_seconds(events: list[ListenEvent], *, end_ms: int) -> dict[str, float]:
    """Wall-clock seconds each side was playing, from its play/pause/ended/switch events.

    A `switch` names the side switched to: the others stop and it plays if anything was playing (one
    transport, one audible side); play runs on to `end_ms` if nothing stopped it.
    """
    playing: dict[str, int] = {}
    total: dict[str, float] = {}

    def stop(side: str, at: int) -> None:
        started = playing.pop(side, None)
        if started is not None:
            total[side] = total.get(side, 0.0) + max(0, at - started) / 1000

    for event in sorted(events, key=lambda e: e.wall_ms):
        at = min(event.wall_ms, end_ms)
        if event.event == "play":
            playing.setdefault(event.side, at)
        elif event.event in ("pause", "ended"):
            stop(event.side, at)
        elif event.event == "switch":
            was_playing = bool(playing)
            for side in list(playing):
                if side != event.side:
                    stop(side, at)
            if was_playing:
                playing.setdefault(event.side, at)
    for side in list(playing):
        stop(side, end_ms)
    return total


def _listening(
    log: list[ListenEvent] | None, config: TaskConfig, sides: dict[str, ShownOutput], time_on_task_ms: int
) -> list[dict[str, Any]] | None:
    for index, event in enumerate(log or []):
        _side(sides, event.side, f"answer.listening_log.{index}")
    timed = {side: output for side, output in sides.items() if output.timed}
    if config.min_listen_s > 0 and timed:
        listened = listened_seconds(log or [], end_ms=time_on_task_ms)
        short = {
            side: listened.get(side, 0.0)
            for side, output in timed.items()
            # A clip shorter than the minimum counts as heard once it has played through.
            if listened.get(side, 0.0) < min(config.min_listen_s, output.duration_s or math.inf) - 0.05
        }
        if short:
            so_far = ", ".join(f"{side.upper()}: {seconds:.1f} s" for side, seconds in sorted(short.items()))
            raise Invalid(
                f"listen to each side for at least {config.min_listen_s:g} s before voting ({so_far} so far)",
                field="answer.listening_log",
            )
    if log is None:
        return None
    return [
        {
            "candidate": sides[e.side].public_id,
            "event": e.event,
            "media_s": round(e.media_s, 3),
            "wall_ms": e.wall_ms,
        }
        for e in log
    ]
