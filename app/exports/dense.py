"""Dense per-segment rewards from segment annotations (the `dense` export). Pure functions, no database.

An output is cut into segments that cover it from start to end, and every segment gets a reward:

* **Text spans** (segment mode `spans`): the text is cut into sentences. A sentence ends after a run
  of `.`, `!` or `?` (and any closing quotes or brackets) followed by blanks, or at a line break; the
  blanks after it belong to it, so the segments' texts joined give the output back exactly. A
  segment's reward is **-1 if it overlaps any marked span** of that output (character ranges
  [start, end) that share at least one character) **and +1 otherwise**: every taxonomy label is an
  error type, as in Fine-Grained RLHF (Wu et al., 2023), whose sentence-level rewards these are. The
  segment lists the labels of the spans it overlaps. A blank output has no segments.
* **Time ranges** (segment mode `time`): the clip is cut into windows of the campaign's `window_s`
  seconds, from 0 to its duration (the last window is shorter when the clip is); a window's reward is
  **-1 if it overlaps a marked range** (positive overlap in seconds) **and +1 otherwise**. When the
  clip's duration is unknown, windows run to the end of the last marked range.
* **Windows** (segment mode `windows`, two aligned clips): window *i* of the vote spans
  [i * window_s, min((i + 1) * window_s, shorter clip)) and its reward for an output is **+1 if the
  annotator preferred that output in the window, -1 if they preferred the other, 0 for a tie**
  (DenseDPO-style per-window preferences).
"""

import math
import re
from dataclasses import dataclass, field
from typing import Any

# Closing quotes (straight and curly) and brackets may follow the sentence's last mark.
_SENTENCE_END = re.compile("[.!?]+[\"'\u201d\u2019)\\]]*\\s+|\n\\s*")


@dataclass(frozen=True)
class Segment:
    reward: int
    start: int | None = None
    end: int | None = None
    text: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    labels: list[str] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "reward": self.reward,
            "labels": list(self.labels),
        }


def sentences(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence, trailing blanks included; together they cover `text`."""
    if not text.strip():
        return []
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            bounds.append((start, match.end()))
            start = match.end()
    if start < len(text):
        bounds.append((start, len(text)))
    return bounds


def span_rewards(text: str, spans: list[dict[str, Any]]) -> list[Segment]:
    """Sentence rewards of one output from its marked spans ({"start", "end", "label"})."""
    segments = []
    for start, end in sentences(text):
        hit = [s for s in spans if s["start"] < end and start < s["end"]]
        segments.append(
            Segment(
                reward=-1 if hit else 1,
                start=start,
                end=end,
                text=text[start:end],
                labels=sorted({s["label"] for s in hit}),
            )
        )
    return segments


def grid(length_s: float, window_s: float) -> list[tuple[float, float]]:
    """Windows of `window_s` covering [0, length_s); the last one is cut at the end."""
    if length_s <= 0:
        return []
    count = max(1, math.ceil(length_s / window_s - 1e-9))
    return [(round(i * window_s, 3), round(min((i + 1) * window_s, length_s), 3)) for i in range(count)]


def time_rewards(ranges: list[dict[str, Any]], *, duration_s: float | None, window_s: float) -> list[Segment]:
    """Per-window rewards of one clip from its marked time ranges ({"start_s", "end_s", "label"})."""
    length = duration_s if duration_s is not None else max((r["end_s"] for r in ranges), default=0.0)
    segments = []
    for start_s, end_s in grid(length, window_s):
        hit = [r for r in ranges if r["start_s"] < end_s and start_s < r["end_s"]]
        segments.append(
            Segment(
                reward=-1 if hit else 1,
                start_s=start_s,
                end_s=end_s,
                labels=sorted({r["label"] for r in hit}),
            )
        )
    return segments


def window_bounds(index: int, *, window_s: float, length_s: float | None) -> tuple[float, float]:
    end = (index + 1) * window_s
    if length_s is not None:
        end = min(end, length_s)
    return round(index * window_s, 3), round(end, 3)


def window_rewards(
    windows: list[str], candidate: str, *, window_s: float, length_s: float | None
) -> list[Segment]:
    """Per-window rewards of one of two aligned clips from the vote's per-window choices (a candidate
    public id or "tie" per window)."""
    segments = []
    for index, choice in enumerate(windows):
        start_s, end_s = window_bounds(index, window_s=window_s, length_s=length_s)
        reward = 0 if choice == "tie" else (1 if choice == candidate else -1)
        segments.append(Segment(reward=reward, start_s=start_s, end_s=end_s))
    return segments
