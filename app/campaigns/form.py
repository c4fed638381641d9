"""The new-campaign and rubric forms of the researcher pages, read into the API's shapes.

Browsers send flat string fields; this module turns them into CampaignCreate and RubricSpec so the pages
go through exactly the validation the JSON API does. Problems come back as one Invalid (a 422).
"""

from collections.abc import Mapping

from pydantic import ValidationError

from app.campaigns.schemas import CampaignCreate
from app.errors import Invalid
from app.selection.config import SelectionConfig
from app.tasks.schemas import Aspect, RubricSpec, TaskConfig
from app.web import form_errors

MAX_ASPECT_ROWS = 10


def _number(fields: Mapping[str, str], name: str) -> str | None:
    value = fields.get(name, "").strip()
    return value or None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


AspectRow = tuple[str, str, str, str, str, str]  # name, description, min, max, anchors, placeholder


def anchors_text(aspect: Aspect) -> str:
    return "; ".join(f"{point}={label}" for point, label in sorted(aspect.anchors.items()))


def aspect_rows(
    *,
    fields: Mapping[str, str] | None = None,
    aspects: list[Aspect] | None = None,
    placeholders: list[str] = (),
) -> list[AspectRow]:
    """The editor's rows: what was posted (a form shown again), else the given aspects, else blank."""
    rows: list[AspectRow] = []
    for k in range(MAX_ASPECT_ROWS):
        placeholder = placeholders[k] if k < len(placeholders) else ""
        if fields is not None:
            rows.append(
                (
                    fields.get(f"aspect-{k}-name", ""),
                    fields.get(f"aspect-{k}-description", ""),
                    fields.get(f"aspect-{k}-min", "0"),
                    fields.get(f"aspect-{k}-max", "4"),
                    fields.get(f"aspect-{k}-anchors", ""),
                    placeholder,
                )
            )
        elif aspects is not None and k < len(aspects):
            a = aspects[k]
            rows.append((a.name, a.description, str(a.min), str(a.max), anchors_text(a), placeholder))
        else:
            rows.append(("", "", "0", "4", "", placeholder))
    return rows


def task_config(fields: Mapping[str, str]) -> TaskConfig:
    settings: dict[str, object] = {}
    for name in ("rate", "segment_mode"):
        if fields.get(name):
            settings[name] = fields[name]
    for name in ("window_s", "min_listen_s", "max_ranked"):
        value = _number(fields, name)
        if value is not None:
            settings[name] = value
    taxonomy = _lines(fields.get("taxonomy", ""))
    if taxonomy:
        settings["taxonomy"] = taxonomy
    try:
        return TaskConfig.model_validate(settings)
    except ValidationError as exc:
        raise form_errors(exc) from None


def rubric(fields: Mapping[str, str]) -> RubricSpec | None:
    """Rows aspect-K-name/description/min/max/anchors; rows without a name are skipped, none gives None.

    Anchors are written `0=very low; 4=very high`."""
    aspects = []
    for k in range(MAX_ASPECT_ROWS):
        name = fields.get(f"aspect-{k}-name", "").strip()
        if not name:
            continue
        anchors: dict[str, str] = {}
        for part in fields.get(f"aspect-{k}-anchors", "").split(";"):
            if not part.strip():
                continue
            point, sep, label = part.partition("=")
            if not sep or not point.strip().lstrip("-").isdigit():
                raise Invalid(
                    f"aspect {name}: write anchors as 0=very low; 4=very high", field=f"aspect-{k}-anchors"
                )
            anchors[point.strip()] = label.strip()
        row: dict[str, object] = {
            "name": name,
            "description": fields.get(f"aspect-{k}-description", "").strip(),
        }
        for bound in ("min", "max"):
            value = _number(fields, f"aspect-{k}-{bound}")
            if value is not None:
                row[bound] = value
        row["anchors"] = anchors
        try:
            aspects.append(Aspect.model_validate(row))
        except ValidationError as exc:
            raise form_errors(exc) from None
    if not aspects:
        return None
    try:
        return RubricSpec(aspects=aspects)
    except ValidationError as exc:
        raise form_errors(exc) from None


def selection(fields: Mapping[str, str]) -> SelectionConfig:
    settings: dict[str, object] = {}
    for name in ("strategy", "criterion", "target"):
        if fields.get(name):
            settings[name] = fields[name]
    for name in ("uniform_fraction", "min_per_pair", "refresh_s"):
        value = _number(fields, name)
        if value is not None:
            settings[name] = value
    try:
        return SelectionConfig.model_validate(settings)
    except ValidationError as exc:
        raise form_errors(exc) from None


def campaign_create(fields: Mapping[str, str]) -> CampaignCreate:
    data: dict[str, object] = {
        "slug": fields.get("slug", "").strip(),
        "name": fields.get("name", "").strip(),
        "task_kind": fields.get("task_kind", "pairwise"),
        "modality": fields.get("modality", "text"),
        "guidelines": fields.get("guidelines", ""),
        "require_rationale": fields.get("require_rationale") == "on",
        "reveal_identities": fields.get("reveal_identities") == "on",
        "license": fields.get("license", "").strip(),
        "task_config": task_config(fields),
        "rubric": rubric(fields),
    }
    if _number(fields, "overlap") is not None:
        data["overlap"] = fields["overlap"]
    if "side_flags" in fields:
        data["side_flags"] = _lines(fields["side_flags"])
    try:
        return CampaignCreate.model_validate(data)
    except ValidationError as exc:
        raise form_errors(exc) from None
