"""The Arrow schema of every export format, and what each column means (for the dataset card)."""

import pyarrow as pa

from app.exports.task_rows import aspect_column

_string_list = pa.list_(pa.string())
_int = pa.int64()

# Every per-vote format (all but `pairwise`) ends with these; `votes` has them in its own order.
PROVENANCE: list[tuple[str, pa.DataType]] = [
    ("vote_id", pa.string()),
    ("campaign", pa.string()),
    ("item_id", pa.string()),
    ("comparison_id", _int),
    ("annotator", pa.string()),
    ("annotator_kind", pa.string()),
    ("shown_systems", _string_list),
    ("shown_candidates", _string_list),
    ("time_on_task_ms", _int),
    ("created_at", pa.string()),
    ("tags", _string_list),
]
_OUTPUT: list[tuple[str, pa.DataType]] = [
    ("candidate", pa.string()),
    ("system", pa.string()),
    ("position", pa.int16()),
]
_DENSE_SEGMENT = pa.struct(
    [
        ("start", _int),
        ("end", _int),
        ("text", pa.string()),
        ("start_s", pa.float64()),
        ("end_s", pa.float64()),
        ("reward", pa.int8()),
        ("labels", _string_list),
    ]
)


def _with_provenance(fields: list[tuple[str, pa.DataType]]) -> pa.Schema:
    return pa.schema([*fields, *PROVENANCE])


SCHEMAS: dict[str, pa.Schema] = {
    "pairwise": pa.schema(
        [
            ("prompt", pa.string()),
            ("chosen", pa.string()),
            ("rejected", pa.string()),
            ("chosen_system", pa.string()),
            ("rejected_system", pa.string()),
            ("strength", pa.float64()),
            ("n_votes", pa.int32()),
            ("agreement", pa.float64()),
            ("item_id", pa.string()),
            ("comparison_id", _int),
            ("tags", _string_list),
            ("chosen_media", _string_list),
            ("rejected_media", _string_list),
        ]
    ),
    "votes": pa.schema(
        [
            ("vote_id", pa.string()),
            ("campaign", pa.string()),
            ("item_id", pa.string()),
            ("comparison_id", _int),
            ("prompt", pa.string()),
            ("annotator", pa.string()),
            ("annotator_kind", pa.string()),
            ("outcome", pa.string()),
            ("winner_side", pa.string()),
            ("winner_system", pa.string()),
            ("loser_system", pa.string()),
            ("shown_a_system", pa.string()),
            ("shown_b_system", pa.string()),
            ("shown_a", pa.string()),
            ("shown_b", pa.string()),
            ("shown_systems", _string_list),
            ("shown_candidates", _string_list),
            ("strength", pa.int8()),
            ("rationale", pa.string()),
            ("flags_a", _string_list),
            ("flags_b", _string_list),
            ("time_on_task_ms", _int),
            ("tags", _string_list),
            ("created_at", pa.string()),
            ("media_a", _string_list),
            ("media_b", _string_list),
            ("item_role", pa.string()),
            ("gold_correct", pa.bool_()),
            ("annotator_weight", pa.float64()),
        ]
    ),
    "distributions": pa.schema(
        [
            ("prompt", pa.string()),
            ("first", pa.string()),
            ("second", pa.string()),
            ("first_system", pa.string()),
            ("second_system", pa.string()),
            ("n_first", pa.int32()),
            ("n_second", pa.int32()),
            ("n_tie", pa.int32()),
            ("n_both_bad", pa.int32()),
            ("n_votes", pa.int32()),
            ("share_first", pa.float64()),
            ("share_second", pa.float64()),
            ("share_tie", pa.float64()),
            ("share_both_bad", pa.float64()),
            ("majority", pa.string()),
            ("mean_strength_first", pa.float64()),
            ("mean_strength_second", pa.float64()),
            ("item_id", pa.string()),
            ("comparison_id", _int),
            ("tags", _string_list),
            ("first_media", _string_list),
            ("second_media", _string_list),
        ]
    ),
    "ratings": _with_provenance(
        [
            *_OUTPUT,
            ("aspect", pa.string()),
            ("value", pa.int16()),
            ("scale_min", pa.int16()),
            ("scale_max", pa.int16()),
            ("rubric_version", pa.int32()),
            ("media", _string_list),
        ]
    ),
    "rankings": _with_provenance(
        [
            ("prompt", pa.string()),
            ("ranking_systems", pa.list_(_string_list)),
            ("ranking_candidates", pa.list_(_string_list)),
            ("n_outputs", pa.int16()),
            ("n_places", pa.int16()),
        ]
    ),
    "ranking-pairs": _with_provenance(
        [
            ("prompt", pa.string()),
            ("chosen", pa.string()),
            ("rejected", pa.string()),
            ("chosen_system", pa.string()),
            ("rejected_system", pa.string()),
            ("chosen_candidate", pa.string()),
            ("rejected_candidate", pa.string()),
            ("chosen_place", pa.int16()),
            ("rejected_place", pa.int16()),
            ("margin", pa.int16()),
            ("tie", pa.bool_()),
            ("tied_systems", _string_list),
            ("tied_candidates", _string_list),
            ("chosen_media", _string_list),
            ("rejected_media", _string_list),
        ]
    ),
    "segments": _with_provenance(
        [
            ("mode", pa.string()),
            *_OUTPUT,
            ("start", _int),
            ("end", _int),
            ("text", pa.string()),
            ("start_s", pa.float64()),
            ("end_s", pa.float64()),
            ("label", pa.string()),
            ("comment", pa.string()),
            ("window_index", pa.int32()),
            ("preferred_candidate", pa.string()),
            ("preferred_system", pa.string()),
            ("tie", pa.bool_()),
            ("media", _string_list),
        ]
    ),
    "dense": _with_provenance(
        [
            ("prompt", pa.string()),
            ("response", pa.string()),
            ("mode", pa.string()),
            *_OUTPUT,
            ("segments", pa.list_(_DENSE_SEGMENT)),
            ("n_segments", pa.int32()),
            ("media", _string_list),
        ]
    ),
    "checklist": _with_provenance(
        [
            ("prompt", pa.string()),
            ("response", pa.string()),
            *_OUTPUT,
            ("question_id", pa.string()),
            ("question", pa.string()),
            ("answer", pa.bool_()),
            ("media", _string_list),
        ]
    ),
    "thumbs": _with_provenance(
        [
            ("prompt", pa.string()),
            ("completion", pa.string()),
            ("label", pa.bool_()),
            ("thumb", pa.string()),
            *_OUTPUT,
            ("media", _string_list),
        ]
    ),
    "listening": _with_provenance(
        [
            ("event_index", pa.int32()),
            *_OUTPUT,
            ("event", pa.string()),
            ("media_s", pa.float64()),
            ("wall_ms", _int),
        ]
    ),
}


def schema_for(fmt: str, *, aspects: list[str] | None = None) -> pa.Schema:
    """The format's schema; `ratings-wide` has one int column per aspect of the campaign's rubrics."""
    if fmt != "ratings-wide":
        return SCHEMAS[fmt]
    return _with_provenance(
        [
            ("prompt", pa.string()),
            ("response", pa.string()),
            *((aspect_column(name), pa.int16()) for name in aspects or []),
            *_OUTPUT,
            ("rubric_version", pa.int32()),
            ("media", _string_list),
        ]
    )


COLUMN_DOCS: dict[str, str] = {
    "prompt": "the prompt shown to annotators",
    "chosen": "the output preferred (pairwise: by the majority; ranking-pairs: placed higher; null on ties)",
    "rejected": "the other output (null on ties in ranking-pairs)",
    "chosen_system": "system that produced `chosen`",
    "rejected_system": "system that produced `rejected`",
    "strength": "mean strength (0..3) among votes for `chosen`; null when not asked",
    "n_votes": "all votes on this comparison, ties and both-bad included",
    "agreement": "share of `n_votes` that chose `chosen`",
    "item_id": "the item's id from the import file",
    "comparison_id": "Preflab's id of the unit judged (a pair, one output, or an item's outputs)",
    "tags": "the item's tags",
    "vote_id": "opaque vote id",
    "campaign": "campaign slug",
    "annotator": "pseudonymous annotator id (stable within this Preflab instance)",
    "annotator_kind": "human, or model for an LM judge's vote (the pairwise export counts humans only)",
    "winner_side": "a or b: the side preferred, as this annotator saw them (null for tie and both_bad)",
    "outcome": "preference, tie or both_bad; null for task kinds that ask no A/B preference",
    "winner_system": "system preferred (null for tie and both_bad)",
    "loser_system": "the other system (null for tie and both_bad)",
    "shown_a_system": "system shown first (as A) to this annotator",
    "shown_b_system": "system shown second (as B); null when one output was shown",
    "shown_a": "text shown as A",
    "shown_b": "text shown as B",
    "shown_systems": "systems of every output in the order this annotator saw them (A, B, C...)",
    "shown_candidates": "opaque candidate ids in the same order",
    "rationale": "the annotator's free-text reason",
    "flags_a": "quality flags the annotator set on A",
    "flags_b": "quality flags the annotator set on B",
    "time_on_task_ms": "from the task being handed out to the vote",
    "created_at": "when the vote was stored (UTC, ISO 8601)",
    "chosen_media": "sha256 of each media file of `chosen`, in the order shown (empty for text)",
    "rejected_media": "sha256 of each media file of `rejected`, in the order shown",
    "media_a": "sha256 of each media file shown as A, in order (empty for text)",
    "media_b": "sha256 of each media file shown as B, in order",
    "media": "sha256 of each media file of this output, in order (empty for text)",
    "candidate": "opaque id of the output this row is about",
    "system": "system that produced that output",
    "position": "where this annotator saw it: 0 is A, 1 is B, ...",
    "response": "the output's text",
    "aspect": "rubric aspect rated",
    "value": "the rating, on the aspect's scale",
    "scale_min": "lowest point of the aspect's scale in the rubric version used",
    "scale_max": "highest point of that scale",
    "rubric_version": "the campaign's rubric version the annotator rated with",
    "ranking_systems": "the order given, best place first; systems in one inner list are tied",
    "ranking_candidates": "the same order as opaque candidate ids",
    "n_outputs": "outputs ranked",
    "n_places": "distinct places (n_outputs when nothing is tied)",
    "chosen_candidate": "opaque id of `chosen`",
    "rejected_candidate": "opaque id of `rejected`",
    "chosen_place": "place of `chosen` in the ranking (1 = best)",
    "rejected_place": "place of `rejected`",
    "margin": "rejected_place - chosen_place (>= 1); null on ties",
    "tie": "ranking-pairs: both outputs share a place (not a preference: drop before training); "
    "segments: the window was judged a tie",
    "tied_systems": "on tie rows, the systems of the two tied outputs (else empty)",
    "tied_candidates": "on tie rows, their opaque ids (else empty)",
    "mode": "spans (characters of text), time (seconds of a clip) or windows (A/B/tie per window)",
    "start": "first character of the span (0-based, snapped to whole words)",
    "end": "character after the span's last",
    "text": "the span's text",
    "start_s": "start of the range or window in seconds of media time",
    "end_s": "end of the range or window in seconds",
    "label": "segments: the taxonomy label; thumbs: true for thumbs up (TRL KTO's `label`)",
    "comment": "the annotator's note on the span or range",
    "window_index": "0-based index of the window",
    "preferred_candidate": "opaque id of the output preferred in the window (null on a tie)",
    "preferred_system": "its system",
    "segments": "segments covering the output, each with start/end (characters) or start_s/end_s, "
    "text, reward (+1/-1, or 0 for a tied window) and the labels that made it -1; formula in "
    "app/exports/dense.py",
    "n_segments": "segments in `segments`",
    "question_id": "the checklist question's id from the import file",
    "question": "its text",
    "answer": "true for yes",
    "completion": "the output's text (TRL KTO's `completion`)",
    "thumb": "up or down",
    "event_index": "0-based order of the event in the vote's listening log",
    "event": "play, pause, seek, switch or ended",
    "media_s": "media time of the event in seconds",
    "wall_ms": "milliseconds since the task was shown",
    "item_role": "data, or gold / qualification for an item with a known answer (checks, not data)",
    "gold_correct": "on gold and qualification items: whether the vote matched the known answer; else null",
    "annotator_weight": "the annotator's reliability in [0, 1] (Dawid-Skene over the release's A/B votes); "
    "null when not fitted (task kinds without an A/B outcome, or weights turned off)",
    "first": "the comparison's first output (its own order, not the side shown)",
    "second": "its second output",
    "first_system": "system of `first`",
    "second_system": "system of `second`",
    "n_first": "votes preferring `first`",
    "n_second": "votes preferring `second`",
    "n_tie": "tie votes",
    "n_both_bad": "both-bad votes",
    "share_first": "n_first / n_votes",
    "share_second": "n_second / n_votes",
    "share_tie": "n_tie / n_votes",
    "share_both_bad": "n_both_bad / n_votes",
    "majority": "first, second, tie or both_bad by strict plurality; null when the top count is shared",
    "mean_strength_first": "mean strength among votes for `first` (null when none or not asked)",
    "mean_strength_second": "mean strength among votes for `second`",
    "first_media": "sha256 of each media file of `first`",
    "second_media": "sha256 of each media file of `second`",
}

ASPECT_DOC = "rating of this aspect (null when the vote's rubric version lacks it)"
