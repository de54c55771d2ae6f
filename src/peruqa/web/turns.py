"""Signed hidden fields: what the no-JavaScript form carries from one page to the next.

Earlier turns of a thread travel in hidden form fields, so the server can show them again
without asking the model. Unsigned, anyone could post a made-up turn to ``/`` from another
site and make PeruQA's own page show an invented quote. Each field is signed with HMAC-
SHA256 under a secret made at first run and kept in the data folder (``form-secret``,
readable by the server alone); a field whose signature fails is dropped.

A signature also covers:

- the index build that gave the answers (``bound_to``): after a rebuild, old turns drop
  out rather than show quotes the library may no longer hold;
- when it was signed: a field older than ``MAX_AGE_S`` (or from the future) drops out;
- the signature of the field before it: the fields of one page form a chain, so a turn
  posted twice, or turns reordered or spliced from other pages, drop out. One turn posted
  five times shows once.

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
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("peruqa.web.turns")

SECRET_FILE = "form-secret"
_SEPARATOR = "."
# How long a page's thread may be sent back: a tab left open for a day starts afresh.
MAX_AGE_S = 24 * 3600
# Workers and replicas may disagree a little on the time.
_CLOCK_SKEW_S = 300


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

    def _mac(self, bound_to: str, issued: str, previous: str, payload: str) -> str:
        signed = "\n".join((bound_to, issued, previous, payload)).encode("utf-8", "surrogatepass")
        digest = hmac.new(self._secret, signed, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def sign(self, payloads: list[str], bound_to: str, now: float | None = None) -> list[str]:
        """Each payload as ``payload.issued.mac``, chained to the one before it."""
        issued = str(int(time.time() if now is None else now))
        fields, previous = [], ""
        for payload in payloads:
            previous = self._mac(bound_to, issued, previous, payload)
            fields.append(_SEPARATOR.join((payload, issued, previous)))
        return fields

    def verify(self, fields: list[str], bound_to: str, now: float | None = None) -> Verified:
        """The payloads whose signature, build, age and place in the chain all hold."""
        now = time.time() if now is None else now
        kept: list[str] = []
        previous = ""
        for field in fields:
            parts = field.rsplit(_SEPARATOR, 2)
            if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit()):
                continue
            payload, issued, mac = parts
            expected = self._mac(bound_to, issued, previous, payload)
            fresh = -_CLOCK_SKEW_S <= now - int(issued) <= MAX_AGE_S
            if payload and fresh and hmac.compare_digest(mac.encode(), expected.encode()):
                kept.append(payload)
                previous = mac  # a dropped field breaks the chain for those after it
        return Verified(kept, len(fields) - len(kept))
