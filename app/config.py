"""Settings read from the environment (prefix PREFLAB_), overridable in tests."""

from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
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
    # Celery beat's periods: handing expired leases back, and refreshing arena leaderboards that are due.
    reclaim_leases_every_s: float = Field(60.0, gt=0)
    refresh_leaderboards_every_s: float = Field(30.0, gt=0)
    # Per process. Overflow connections are opened and closed under load, which costs Postgres more CPU
    # than the queries; size the pool to the concurrency instead.
    db_pool_size: int = 20
    db_max_overflow: int = 0
    # The second pool, for the voting fast path's single statements (Postgres only).
    db_statement_pool_size: int = 10
    session_cookie: str = "preflab_session"
    secure_cookies: bool = False
    max_import_bytes: int = 64 * 1024 * 1024
    # One media file (upload, import or generated output); stored once per content under data_dir/media.
    media_max_bytes: int = 200 * 1024 * 1024
    # Load balancers or reverse proxies whose X-Forwarded-For is believed (addresses or networks, as JSON:
    # '["10.0.0.0/8"]'). Empty: the peer address is the client, and the header is ignored.
    trusted_proxies: list[str] = []

    # Arena abuse controls. Rate limits count per voter and per client address in a 60 s moving window,
    # in Redis when redis_url is set (shared by every web process), else in this process; 0 turns one off.
    # Battles cost model calls, so they are limited harder than votes.
    arena_battles_per_minute_user: int = 10
    arena_battles_per_minute_ip: int = 60
    arena_votes_per_minute_user: int = 30
    arena_votes_per_minute_ip: int = 120
    # Moderation of typed prompts: a block list ("category: phrase" per entry; inline and/or a file),
    # optionally an OpenAI-compatible /moderations endpoint beside it. A category's action is looked up
    # in arena_moderation_actions ("self-harm" also covers "self-harm/intent"), else the default.
    arena_blocklist: list[str] = []
    arena_blocklist_path: Path | None = None
    arena_moderation_actions: dict[str, Literal["log", "warn", "block"]] = {}
    arena_moderation_default_action: Literal["log", "warn", "block"] = "block"
    arena_moderation_url: str = ""  # where the API's paths start, e.g. http://host:8000/v1
    arena_moderation_model: str = ""  # empty: the endpoint's default model
    arena_moderation_api_key_env: str = ""  # the environment variable holding the key, never the key
    arena_moderation_timeout_s: float = 5.0
    # How long an anonymous voter's signed cookie is honoured.
    arena_anonymous_max_age_s: int = 365 * 24 * 3600
    # The anomalous-voter check (Wald's sequential probability ratio test, per voter): the chance of
    # flagging an honest voter, of missing a random one, and the votes read before any decision.
    arena_anomaly_alpha: float = 0.001
    arena_anomaly_beta: float = 0.1
    arena_anomaly_min_votes: int = 10
    # Pushing dataset releases to the Hugging Face Hub: a write token (unset: pushing is refused), and
    # another Hub's address when not huggingface.co.
    hf_token: str = ""
    hf_endpoint: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"PREFLAB_TRUSTED_PROXIES: {entry!r} is not an IP address or a network like 10.0.0.0/8"
                ) from None
        return [entry.strip() for entry in value]

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
