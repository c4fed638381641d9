"""A release as TRL reads it: API release (pairwise + distributions) → `datasets.load_dataset(<release
folder>)`, which finds the pairwise data through the card's `configs` → one training step each of TRL's
RewardTrainer and DPOTrainer on a tiny local model, on CPU, with nothing in between.

If this fails on a column, the export is what must change, not this test.
"""

import math
from pathlib import Path

import datasets
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.releases import service as releases
from app.releases.models import Release
from tests.api_helpers import bearer
from tests.factories import seed_campaign_with_votes

trl = pytest.importorskip("trl", reason="trl is not installed: pip install 'preflab[test]' to run it")
torch = pytest.importorskip("torch", reason="torch is not installed (the ml extra)")
transformers = pytest.importorskip("transformers", reason="transformers is not installed (the ml extra)")

N_ITEMS = 4


@pytest.fixture
def exported_pairs(client: TestClient, session: Session) -> Path:
    """The folder of a release of a seeded campaign, made through the API."""
    seed_campaign_with_votes(session, n_items=N_ITEMS)
    admin = bearer(session, "researcher@example.org", Role.researcher)
    body = {"formats": ["pairwise", "distributions"]}
    r = client.post("/api/v1/campaigns/demo/releases", json=body, headers=admin)
    assert r.status_code == 201, r.text
    release = session.scalars(select(Release)).one()
    folder = releases.release_folder(
        campaign=releases.release_campaign(session, release=release), release=release
    )
    session.commit()
    # The soft labels load from the same folder by config name.
    distributions = datasets.load_dataset(str(folder), "distributions", split="train")
    assert distributions.num_rows == N_ITEMS and set(distributions["n_votes"]) == {1}
    return folder


def _train_dataset(folder: Path) -> datasets.Dataset:
    ds = datasets.load_dataset(str(folder), split="train")
    assert ds.num_rows == N_ITEMS
    assert {"prompt", "chosen", "rejected"} <= set(ds.column_names)
    return ds


def _common_args(out: Path) -> dict:
    return {
        "output_dir": str(out),
        "per_device_train_batch_size": 2,
        "max_steps": 1,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "use_cpu": True,
        "bf16": False,
        "fp16": False,
        "dataloader_num_workers": 0,
        "dataset_num_proc": None,
        "seed": 0,
    }


def _weights(model: "torch.nn.Module") -> "torch.Tensor":
    return torch.cat([p.detach().flatten().clone() for p in model.parameters() if p.requires_grad])


def test_reward_trainer_takes_one_step_on_the_export(
    exported_pairs: Path, tiny_lm: Path, tmp_path: Path
) -> None:
    dataset = _train_dataset(exported_pairs)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_lm)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_lm, num_labels=1)
    before = _weights(model)
    trainer = trl.RewardTrainer(
        model=model,
        args=trl.RewardConfig(**_common_args(tmp_path / "rm"), max_length=128),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    result = trainer.train()
    assert trainer.state.global_step == 1
    assert math.isfinite(result.training_loss)
    assert not torch.equal(before, _weights(trainer.model))


def test_dpo_trainer_takes_one_step_on_the_export(
    exported_pairs: Path, tiny_lm: Path, tmp_path: Path
) -> None:
    dataset = _train_dataset(exported_pairs)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_lm)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_lm)
    before = _weights(model)
    trainer = trl.DPOTrainer(
        model=model,
        args=trl.DPOConfig(**_common_args(tmp_path / "dpo"), max_length=128),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    result = trainer.train()
    assert trainer.state.global_step == 1
    assert math.isfinite(result.training_loss)
    assert not torch.equal(before, _weights(trainer.model))
