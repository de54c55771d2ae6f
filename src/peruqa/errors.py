"""The project's own exceptions. Messages are written for the person who will read them."""

from __future__ import annotations


class PeruQAError(Exception):
    """Base class: ``code`` is a stable machine-readable name, ``message`` is for people."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AnswerTimeoutError(PeruQAError):
    code = "timeout"


class ConfigError(PeruQAError):
    code = "invalid_setting"


class InvalidQuestionError(PeruQAError):
    code = "invalid_question"


class IndexMissingError(PeruQAError):
    code = "index_missing"


class IndexMismatchError(PeruQAError):
    code = "index_mismatch"


class IndexCorruptError(PeruQAError):
    code = "index_corrupt"


class NoDocumentsError(PeruQAError):
    code = "no_documents"


class DocumentNotFoundError(PeruQAError):
    code = "document_not_found"


class EmbedderUnavailableError(PeruQAError):
    code = "embedder_unavailable"


class EvalFileError(PeruQAError):
    code = "eval_file_invalid"


class IndexBusyError(PeruQAError):
    code = "index_busy"


class BuildRefusedError(PeruQAError):
    """A build finished its checks but was not switched in (strict mode, quality gate)."""

    code = "build_refused"


class ModelFileError(PeruQAError):
    """The trained decision model's parameter file is missing, unreadable or mismatched."""

    code = "model_file_invalid"


class TrainingDataError(PeruQAError):
    """``peruqa train`` cannot read the SQuAD subsets or question files it was given."""

    code = "training_data_invalid"
