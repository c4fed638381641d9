"""Domain errors, raised by services and mapped once to HTTP responses (JSON for the API, HTML for pages)."""

from typing import ClassVar


class DomainError(Exception):
    status_code: ClassVar[int] = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class NotAuthenticated(DomainError):
    status_code = 401


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    status_code = 422


class RateLimited(DomainError):
    status_code = 429


class TooLarge(DomainError):
    """An upload or a file named by an import is over the configured size limit."""

    status_code = 413


class UnsupportedMedia(DomainError):
    """A file whose content (not its name) is none of the media types Preflab stores."""

    status_code = 415


class ImportRejected(Invalid):
    """A whole import file is refused; nothing from it is stored."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


class Unavailable(DomainError):
    """A service the request needs (the task queue, a model endpoint) does not answer."""

    status_code = 503
