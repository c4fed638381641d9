"""Settings read from the environment (prefix PREFLAB_), overridable in tests."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "preflab-development-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PREFLAB_", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = DEVELOPMENT_SECRET
    lease_seconds: int = 600
    # Per process. Overflow connections are opened and closed under load, which costs Postgres more CPU
    # than the queries; size the pool to the concurrency instead.
    db_pool_size: int = 20
    db_max_overflow: int = 0
    # The second pool, for the voting fast path's single statements (Postgres only).
    db_statement_pool_size: int = 10
    session_cookie: str = "preflab_session"
    secure_cookies: bool = False
    max_import_bytes: int = 64 * 1024 * 1024

    @model_validator(mode="after")
    def _defaults_and_safety(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'preflab.db').as_posix()}"
        if self.env == "production" and "secure_cookies" not in self.model_fields_set:
            self.secure_cookies = (
                True  # production sits behind HTTPS; say PREFLAB_SECURE_COOKIES=false if not
            )
        if self.env == "production" and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError(
                "PREFLAB_SECRET_KEY is still the development default; set it to a long random value "
                "before running with PREFLAB_ENV=production"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
