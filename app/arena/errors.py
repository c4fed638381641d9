"""Arena domain errors, mapped to responses in app/main.py like every other DomainError."""

from app.errors import RateLimited


class RateLimitExceeded(RateLimited):
    """Too many battles or votes in the window; the response says when to retry (`Retry-After`)."""

    def __init__(self, message: str, *, retry_after: int, action: str, scope: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # whole seconds, at least 1
        self.action = action  # "battle" or "vote"
        self.scope = scope  # "user" (the voter's own limit) or "ip" (the client address's)
