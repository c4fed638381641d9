"""The `preflab` command as scripts use it: real processes against this test's database."""

import json
from pathlib import Path

import pyarrow.parquet as pq

from tests.conftest import run_cli
from tests.factories import item_lines


def test_cli_contract(cli_env: dict[str, str], tmp_path: Path) -> None:
    run_cli(cli_env, "db", "upgrade")
    assert "created admin" in run_cli(cli_env, "user", "add", "boss@example.org", "--role", "admin").stdout
    dup = run_cli(cli_env, "user", "add", "boss@example.org", "--role", "admin", check=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    bad_role = run_cli(cli_env, "user", "add", "x@example.org", "--role", "wizard", check=False)
    assert bad_role.returncode != 0 and "unknown role" in bad_role.stderr
    token = run_cli(cli_env, "token", "create", "boss@example.org").stdout
    assert token.strip().startswith("pfl_") and len(token.strip().splitlines()) == 1
    assert run_cli(cli_env, "token", "create", "nobody@example.org", check=False).returncode != 0


def test_import_and_export_through_the_cli(cli_env: dict[str, str], tmp_path: Path) -> None:
    from sqlalchemy.orm import Session

    from app.campaigns.schemas import CampaignCreate
    from app.campaigns.service import create_campaign
    from app.db import make_engine

    engine = make_engine(cli_env["PREFLAB_DATABASE_URL"])
    with Session(engine) as s:
        create_campaign(s, data=CampaignCreate(slug="cli", name="CLI"), created_by=None)
        s.commit()
    engine.dispose()

    bad = tmp_path / "bad.jsonl"
    lines = item_lines(5)
    bad.write_text("\n".join([*lines[:2], '{"id": 1', *lines[3:]]) + "\n")
    result = run_cli(cli_env, "import", "cli", str(bad), check=False)
    assert result.returncode != 0 and "line 3" in result.stderr and "nothing was imported" in result.stderr

    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(lines) + "\n")
    assert "5 new items, 5 new comparisons" in run_cli(cli_env, "import", "cli", str(good)).stdout
    again = run_cli(cli_env, "import", "cli", str(good)).stdout
    assert "0 new items" in again and "5 ids already imported, left unchanged" in again

    hh = tmp_path / "hh.jsonl"
    hh.write_text(json.dumps({"prompt": "Say hi", "chosen": "Hi!", "rejected": "Go away."}) + "\n")
    assert "1 new items" in run_cli(cli_env, "import", "cli", str(hh), "--format", "chosen-rejected").stdout
    assert run_cli(cli_env, "import", "nope", str(good), check=False).returncode != 0
    assert run_cli(cli_env, "import", "cli", str(tmp_path / "missing.jsonl"), check=False).returncode != 0

    out = tmp_path / "export"
    assert "wrote 0 rows" in run_cli(cli_env, "export", "cli", "--format", "votes", "--out", str(out)).stdout
    assert pq.read_table(out / "data.parquet").num_rows == 0 and (out / "README.md").exists()
    assert (
        run_cli(cli_env, "export", "cli", "--format", "csv", "--out", str(out), check=False).returncode != 0
    )
    judges = run_cli(
        cli_env, "export", "cli", "--format", "votes", "--annotator-kind", "model", "--out", str(out)
    )
    assert "wrote 0 rows" in judges.stdout
    wrong = run_cli(cli_env, "export", "cli", "--annotator-kind", "robot", "--out", str(out), check=False)
    assert wrong.returncode != 0 and "human or model" in wrong.stderr
