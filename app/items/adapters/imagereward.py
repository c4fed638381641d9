"""ImageReward's test rankings (Xu et al., 2023; THUDM/ImageReward, `data/test.json`) as Preflab items.

One record: an id, a prompt, 4 to 9 generated images (paths such as `part-005658/images/0040/x.webp`)
and the experts' `ranking` of them (lower is better; equal values are ties; values may skip).

The JSON does not include the images. Where they are found, they are imported as media: every path
under the import file's folder, or under its `test_images/` folder (the layout ImageReward's own
scripts read). Where none is found, each candidate is text naming its image file, which is still a
ranking with ties to import and export, but only into a text campaign: an image campaign refuses it,
as it refuses an import where only some of the files are there (the first missing one is named).

Each candidate's metadata keeps the `image` path, the `expert_rank` as the file gives it and the
`reference_rank` (1 the best, ties sharing a rank, no gaps), the name Fine-Grained RLHF's adapter uses.
"""

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.campaigns.models import Campaign, Modality
from app.errors import ImportRejected
from app.items.adapters.document import Record, dense_ranks, describe, joined, records
from app.items.schemas import ItemLine

FORMAT = "imagereward"
IMAGES_FOLDER = "test_images"


def read(
    lines: Iterable[str], *, campaign: Campaign, media_base: Path | None
) -> Iterator[tuple[int, ItemLine]]:
    parsed = [(record, _fields(record)) for record in records(joined(lines), fmt=FORMAT)]
    prefix = _image_prefix(parsed, campaign=campaign, media_base=media_base)
    for record, (item_id, prompt, images, ranking) in parsed:
        reference = dense_ranks([float(r) for r in ranking], higher_is_better=False)
        candidates = []
        for k, (image, rank, ref) in enumerate(zip(images, ranking, reference, strict=True), start=1):
            candidate: dict[str, Any] = {
                "system": f"generation-{k}",
                "metadata": {
                    "source": FORMAT,
                    "image": image,
                    "expert_rank": rank,
                    "reference_rank": ref,
                },
            }
            if prefix is None:
                candidate["content"] = f"Image `{image}` (not imported: the file was not beside the import)"
            else:
                candidate["media"] = [f"{prefix}{image}"]
            candidates.append(candidate)
        try:
            item = ItemLine(id=item_id, prompt=prompt, tags=[FORMAT], candidates=candidates)
        except ValidationError as exc:
            raise record.rejected(describe(exc)) from None
        yield record.line, item


def _fields(record: Record) -> tuple[str, str, list[str], list[int]]:
    raw = record.value
    if not isinstance(raw, dict):
        raise record.rejected("each record must be a JSON object")
    item_id, prompt = raw.get("id"), raw.get("prompt")
    images, ranking = raw.get("generations"), raw.get("ranking")
    if not isinstance(item_id, str | int) or isinstance(item_id, bool) or not str(item_id):
        raise record.rejected("'id' must be a string")
    if not isinstance(prompt, str) or not prompt.strip():
        raise record.rejected("'prompt' must be a non-empty string")
    if not isinstance(images, list) or not all(isinstance(i, str) and i for i in images) or len(images) < 2:
        raise record.rejected("'generations' must be a list of two or more image paths")
    if len(set(images)) != len(images):
        raise record.rejected("'generations' names the same image twice")
    if (
        not isinstance(ranking, list)
        or len(ranking) != len(images)
        or not all(isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in ranking)
    ):
        raise record.rejected(
            f"'ranking' must hold one positive integer per generation ({len(images)}); lower is better"
        )
    return str(item_id), prompt, images, ranking


def _image_prefix(
    parsed: list[tuple[Record, tuple[str, str, list[str], list[int]]]],
    *,
    campaign: Campaign,
    media_base: Path | None,
) -> str | None:
    """Where the images are ('' or 'test_images/'), or None when the import has none of them."""
    wanted = [(record, image) for record, (_, _, images, _) in parsed for image in images]
    if media_base is not None:
        for prefix in ("", f"{IMAGES_FOLDER}/"):
            present = [(record, image) for record, image in wanted if (media_base / prefix / image).is_file()]
            if present and len(present) < len(wanted):
                record, image = next((r, i) for r, i in wanted if not (media_base / prefix / i).is_file())
                raise record.rejected(
                    f"the image '{prefix}{image}' is missing, though {len(present)} of the {len(wanted)} "
                    "images are there; add it or import into a text campaign without the images"
                )
            if present:
                return prefix
    if campaign.modality == Modality.image:
        where = (
            f"neither beside the file nor in {IMAGES_FOLDER}/"
            if media_base is not None
            else "not readable here: only `preflab import` reads files"
        )
        raise ImportRejected(
            f"the imagereward JSON names its images but does not include them, and they are {where}; "
            "put the images there (paths as in 'generations'), or import into a text campaign to rank "
            "the file names"
        )
    return None
