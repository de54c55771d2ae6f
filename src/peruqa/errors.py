"""The project's own exceptions, every one of them, with what each means over HTTP.

Messages are written for the person who will read them. ``code`` is a stable
machine-readable name, ``status`` the HTTP status the web app answers with, and
``retry_after`` (seconds) the wait a client is told when trying again later can help. The
web app reads these three and nothing else (``peruqa.web.handlers``); the CLI prints the
message. An error nobody declared (a bug) is a logged 500, never one of these.
"""

from __future__ import annotations


class PeruQAError(Exception):
    code = "error"
    # A bare PeruQAError was not meant for a client: it is a bug on our side.
    status = 500
    retry_after: int | None = None

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retry_after is not None:
            self.retry_after = retry_after


# -- the request itself is wrong: the client can fix it ------------------------------------


class InvalidRequestError(PeruQAError):
    """The request is not what the endpoint takes (bad JSON, a missing field)."""

    code = "invalid_request"
    status = 422


class BadHeaderError(InvalidRequestError):
    """A header the server must read (Content-Length) is malformed."""

    status = 400


class MalformedRequestError(InvalidRequestError):
    """The request is not valid HTTP: the server's parser refused it before the app saw
    it, and the connection closes."""

    status = 400


class InvalidQuestionError(PeruQAError):
    """A question (or an earlier turn sent with it) the service refuses to read; every
    wording is in ``peruqa.qa.checks``. ``message_key`` names the chat page's own wording
    of it in each language, when it has one."""

    code = "invalid_question"
    status = 422

    def __init__(self, message: str, message_key: str | None = None) -> None:
        super().__init__(message)
        self.message_key = message_key


class InvalidFeedbackError(PeruQAError):
    code = "invalid_feedback"
    status = 422


class PayloadTooLargeError(PeruQAError):
    code = "payload_too_large"
    status = 413


class HeadersTooLargeError(PeruQAError):
    """The request line and headers pass PERUQA_MAX_HEADER_BYTES or _FIELDS; the server
    answers before the app sees the request and closes the connection."""

    code = "headers_too_large"
    status = 431


class RequestTimeoutError(PeruQAError):
    """The request body arrived too slowly; the connection is closed too."""

    code = "request_timeout"
    status = 408


class DocumentNotFoundError(PeruQAError):
    code = "document_not_found"
    status = 404


# -- who may ask -------------------------------------------------------------------------


class AdminDisabledError(PeruQAError):
    """No PERUQA_ADMIN_TOKEN on the server: the admin endpoints do not exist."""

    code = "admin_disabled"
    status = 404


class UnauthorizedError(PeruQAError):
    code = "unauthorized"
    status = 401


class ForbiddenError(PeruQAError):
    code = "forbidden"
    status = 403


class RateLimitedError(PeruQAError):
    """Too many requests (or failed admin attempts) from one address; ``retry_after`` says
    when the next is allowed."""

    code = "rate_limited"
    status = 429
    retry_after = 1


# -- the service cannot answer now -------------------------------------------------------


class OverloadedError(PeruQAError):
    """The queue is full, or this question would wait past the timeout: try again later."""

    code = "overloaded"
    status = 503
    retry_after = 1


class TooManyPendingError(OverloadedError):
    """This address already has its share of questions waiting."""

    code = "too_many_pending"
    status = 429


class AnswerTimeoutError(PeruQAError):
    code = "timeout"
    status = 503


class IndexMissingError(PeruQAError):
    code = "index_missing"
    status = 503


class IndexMismatchError(PeruQAError):
    code = "index_mismatch"
    status = 503


class IndexCorruptError(PeruQAError):
    code = "index_corrupt"
    status = 503


class IndexBusyError(PeruQAError):
    code = "index_busy"
    status = 503


class EmbedderUnavailableError(PeruQAError):
    code = "embedder_unavailable"
    status = 503


class ModelFileError(PeruQAError):
    """The trained decision model's parameter file is missing, unreadable or mismatched."""

    code = "model_file_invalid"
    status = 503


class FeedbackStorageError(PeruQAError):
    code = "feedback_storage"
    status = 503


class ConfigError(PeruQAError):
    """A setting is invalid: the server is misconfigured, not the request."""

    code = "invalid_setting"
    status = 503


# -- maintainers' tools (the CLI prints these; no route raises them) -----------------------


class ReadError(PeruQAError):
    """A source file could not be read; the message says why, for the maintainer's report."""

    code = "unreadable_file"
    status = 422


class NoDocumentsError(PeruQAError):
    code = "no_documents"
    status = 422


class EvalFileError(PeruQAError):
    code = "eval_file_invalid"
    status = 422


class TrainingDataError(PeruQAError):
    """``peruqa train`` cannot read the SQuAD subsets or question files it was given."""

    code = "training_data_invalid"
    status = 422


class BuildRefusedError(PeruQAError):
    """A build finished its checks but was not switched in (strict mode, quality gate)."""

    code = "build_refused"
    status = 409


def all_errors() -> list[type[PeruQAError]]:
    """Every error class, for the test that checks each declares its own status."""
    found: list[type[PeruQAError]] = []
    pending = [PeruQAError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return found
