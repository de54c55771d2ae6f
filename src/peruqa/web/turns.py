"""Signed hidden fields: what the no-JavaScript form carries from one page to the next.

Earlier turns of a thread travel in hidden form fields, so the server can show them again
without asking the model. Unsigned, anyone could post a made-up turn to ``/`` from another
site and make PeruQA's own page show an invented quote. Each field is signed with HMAC-
SHA256 under a secret made at first run and kept in the data folder (``form-secret``,
readable by the server alone); a field whose signature fails is dropped.

``TurnSigner.sign`` / ``verify`` work on any list of strings, so other carried fields
(a follow-up's history) can use the same secret and rules.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("peruqa.web.turns")

SECRET_FILE = "form-secret"
_SEPARATOR = "."


def _secret_in(data_dir: Path) -> bytes:
    """The install's secret, created on first use; every worker reads the same file."""
    path = data_dir / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{SECRET_FILE}.", dir=data_dir)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32))
        # A link never replaces: when two workers start at once, the first one wins and
        # the other reads its secret.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


@dataclass(frozen=True)
class Verified:
    fields: list[str]  # the payloads whose signature held, in order
    dropped: int  # how many were refused


class TurnSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def in_folder(cls, data_dir: Path) -> TurnSigner:
        try:
            return cls(_secret_in(data_dir))
        except OSError as exc:
            # Threads still work within this process; other workers will drop its turns.
            log.warning(
                "No form secret in %s (%s); using one for this process only.", data_dir, exc
            )
            return cls(secrets.token_bytes(32))

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def sign(self, payloads: list[str]) -> list[str]:
        return [f"{payload}{_SEPARATOR}{self._mac(payload)}" for payload in payloads]

    def verify(self, fields: list[str]) -> Verified:
        kept: list[str] = []
        for field in fields:
            payload, _, mac = field.rpartition(_SEPARATOR)
            if payload and hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
                kept.append(payload)
        return Verified(kept, len(fields) - len(kept))
