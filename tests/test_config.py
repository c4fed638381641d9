import pytest
from pydantic import ValidationError

from app.config import Settings


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="PREFLAB_SECRET_KEY"):
        Settings(env="production")


def test_production_defaults_to_secure_cookies_unless_told_otherwise() -> None:
    assert Settings(env="production", secret_key="x" * 40).secure_cookies is True
    assert Settings(env="production", secret_key="x" * 40, secure_cookies=False).secure_cookies is False
    assert Settings().secure_cookies is False


def test_default_database_is_sqlite_under_the_data_dir(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="")
    assert settings.database_url == f"sqlite:///{tmp_path.as_posix()}/preflab.db" and settings.is_sqlite
