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
