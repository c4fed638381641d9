"""`preflab release create` / `preflab release list` and their refusals."""

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.releases.models import Release
from tests.conftest import run_cli
from tests.releases.helpers import three_voters


def test_release_create_and_list(cli_env: dict[str, str], session: Session, tmp_path: Path) -> None:
    three_voters(session)
    session.close()
    made = run_cli(cli_env, "release", "create", "demo", "--format", "pairwise", "--format", "distributions")
    assert made.stdout.startswith("released: demo v1 (rel_") and "9 votes" in made.stdout
    folder = tmp_path / "data" / "releases" / "demo" / "1"
    assert f"{folder / 'pairwise.parquet'} (1 rows)" in made.stdout
    assert (folder / "README.md").is_file() and (folder / "distributions.jsonl").read_text().count("\n") == 3
    again = run_cli(cli_env, "release", "create", "demo", "--format", "distributions", "--format", "pairwise")
    assert again.stdout.startswith("unchanged since, so the same release: demo v1")
    human = run_cli(cli_env, "release", "create", "demo", "--format", "votes", "--annotator-kind", "human")
    assert "demo v2" in human.stdout
    listed = run_cli(cli_env, "release", "list", "demo").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["v2", "v1"]
    assert "pairwise,distributions" in listed[1]


def test_release_create_refuses_bad_input(cli_env: dict[str, str], session: Session) -> None:
    three_voters(session)
    session.close()
    cases = [
        (("nope", "--format", "pairwise"), "no campaign"),
        (("demo", "--format", "xml"), "unknown export format 'xml'"),
        (("demo", "--format", "rankings"), "has no rankings data"),
        (("demo", "--format", "pairwise", "--annotator-kind", "robot"), "annotator_kind"),
        (("demo", "--format", "pairwise", "--weights", "magic"), "annotator_weights"),
    ]
    for args, message in cases:
        result = run_cli(cli_env, "release", "create", *args, check=False)
        assert result.returncode == 1, args
        assert message in result.stderr, (args, result.stderr)
    missing = run_cli(cli_env, "release", "create", "demo", check=False)
    assert missing.returncode != 0 and "--format" in missing.stderr
    assert run_cli(cli_env, "release", "list", "nope", check=False).returncode == 1
    assert session.scalar(select(func.count()).select_from(Release)) == 0
