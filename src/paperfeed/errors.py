"""Errors a user can act on. Their message is shown as one line, without a traceback."""


class PaperfeedError(Exception):
    """Base of every error meant for the user."""


class StoreError(PaperfeedError):
    pass


class ImportFailed(PaperfeedError):
    pass


class NotFound(PaperfeedError):
    pass


class InvalidInput(PaperfeedError):
    pass


class SourceUnavailable(PaperfeedError):
    """A remote service (arXiv, Hugging Face) could not be reached or refused us."""


class LoginRequired(PaperfeedError):
    """The action needs a signed-in user."""


class PermissionDenied(PaperfeedError):
    """The user may not do this (someone else's comment, a suspended account, not an admin)."""


class TooManyRequests(PaperfeedError):
    """A rate limit was reached; `retry_after` says in how many seconds to try again."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))
