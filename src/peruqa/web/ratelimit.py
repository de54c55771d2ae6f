"""Who the client is, and how many questions it may ask: shared by every worker.

- ``ClientAddressMiddleware`` puts the visitor's address in ``scope["client"]``. The
  ``X-Forwarded-For`` header counts only when the connecting peer is one of
  ``PERUQA_TRUSTED_PROXIES``; anyone else could write any address there.
- ``Limiter`` counts with the ``limits`` library: in process memory for one worker, or in
  Redis (``PERUQA_RATE_LIMIT_STORAGE=redis://…``) so that every worker and replica spends
  from the same budget.
- ``RateLimitMiddleware`` spends one unit per request on the paths that do work for a
  visitor, and answers 429 with ``Retry-After`` when none is left.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Sequence

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from peruqa.errors import ConfigError, RateLimitedError
from peruqa.web.responses import send_error
from peruqa.web.security import staff_key

log = logging.getLogger("peruqa.web.ratelimit")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> list[Network]:
    """The networks of PERUQA_TRUSTED_PROXIES, which ``Settings`` has already checked."""
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries]


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@functools.lru_cache(maxsize=8)
def _networks_of(entries: tuple[str, ...]) -> list[Network]:
    return parse_networks(entries)


def address_in(address: str, entries: Sequence[str]) -> bool:
    """Whether ``address`` lies in one of the networks ``entries`` names (settings lists,
    checked when the settings were read)."""
    return _trusted(address, _networks_of(tuple(entries)))


def client_address(peer: str, forwarded_for: str | None, networks: Sequence[Network]) -> str:
    """The visitor's address: the peer, unless the peer is a trusted proxy.

    Behind trusted proxies the header is read from the right (the entry our own proxy
    added) and the first address that is not itself a trusted proxy is the client; entries
    further left were written by the client and prove nothing.
    """
    if not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[str] = ()) -> None:
        self.app = app
        self.networks = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.networks and scope.get("client"):
            forwarded = None
            for name, value in scope.get("headers", []):
                if name == b"x-forwarded-for":
                    forwarded = value.decode("latin-1")
            peer = scope["client"][0]
            address = client_address(peer, forwarded, self.networks)
            if address != peer:
                scope["client"] = (address, 0)  # in place: outer middlewares see it too
        await self.app(scope, receive, send)


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class SharedStore:
    """The shared counter store (Redis) and whether it answers, for every limiter of a worker.

    A thread pings the store every ``probe_s`` seconds (off the event loop), so /health
    knows of an outage even before a request meets it; a request whose store call fails
    marks it down at once. While it is down no request touches it, and the limiters count
    in this worker's memory. The log gets one line when an outage starts and one when it
    ends, with no traceback.
    """

    def __init__(self, storage: Storage | None, probe_s: float = 1.0) -> None:
        self.storage = storage  # None: counters are per worker by configuration
        self.probe_s = probe_s
        self._down_since: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if storage is not None:
            if not storage.check():
                self.failed("it does not answer")
            threading.Thread(target=self._watch, name="peruqa-store-probe", daemon=True).start()

    @property
    def state(self) -> str:
        """What /health and /ready report: shared, per worker, or degraded (store down)."""
        if self.storage is None:
            return "local"
        return "degraded" if self._down_since is not None else "ok"

    @property
    def usable(self) -> bool:
        return self.storage is not None and self._down_since is None

    def failed(self, reason: object) -> None:
        with self._lock:
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        log.warning(
            "Rate limit store unreachable (%s); this worker limits on its own, at its share "
            "of the limits, until the store answers again.",
            reason,
        )

    def _watch(self) -> None:
        assert self.storage is not None
        while not self._stop.wait(self.probe_s):
            if not self.storage.check():
                self.failed("it does not answer")
                continue
            with self._lock:
                since, self._down_since = self._down_since, None
            if since is not None:
                log.warning(
                    "Rate limit store answers again after %.0f s; limits are shared again.",
                    time.monotonic() - since,
                )

    def close(self) -> None:
        self._stop.set()


class Limiter:
    """A moving window of ``amount`` hits per ``seconds`` per key, in the shared store, or
    in this worker's memory (``amount`` divided by ``workers``) while the store is down."""

    def __init__(
        self,
        store: SharedStore,
        amount: int,
        seconds: int,
        namespace: str,
        workers: int = 1,
    ) -> None:
        self.store = store
        self.item: RateLimitItem = RateLimitItemPerSecond(amount, seconds)
        self.namespace = namespace
        self.shared = MovingWindowRateLimiter(store.storage) if store.storage is not None else None
        # Per worker by configuration: the whole amount. As a fallback: this worker's share,
        # so that all the workers together stay within the limit.
        share = amount if store.storage is None else max(1, amount // max(1, workers))
        self.local_item: RateLimitItem = RateLimitItemPerSecond(share, seconds)
        self.local = MovingWindowRateLimiter(MemoryStorage())

    def _ask(self, key: str, spend: bool) -> float:
        if self.shared is not None and self.store.usable:
            try:
                return self._wait(self.shared, self.item, key, spend)
            except Exception as exc:  # the store is down or hung: the local limit takes over
                self.store.failed(f"{type(exc).__name__}: {exc}")
        return self._wait(self.local, self.local_item, key, spend)

    def _wait(
        self, strategy: MovingWindowRateLimiter, item: RateLimitItem, key: str, spend: bool
    ) -> float:
        allowed = (
            strategy.hit(item, self.namespace, key)
            if spend
            else strategy.test(item, self.namespace, key)
        )
        if allowed:
            return 0.0
        stats = strategy.get_window_stats(item, self.namespace, key)
        return max(1.0, stats.reset_time - time.time())

    def hit(self, key: str) -> float:
        """Spend one unit; 0 when allowed, else seconds until one is free."""
        return self._ask(key, spend=True)

    def blocked(self, key: str) -> float:
        """Seconds until ``key`` may try again, without spending anything (0 = may)."""
        return self._ask(key, spend=False)


# The limiter is asked on the event loop: a Redis that stops answering must cost at most
# this long once (then the store counts as down and is not asked), never hang the worker.
REDIS_TIMEOUT_S = 0.05


def make_storage(uri: str) -> SharedStore:
    """The store for ``uri``: memory:// means per worker; a Redis that is not reachable at
    start is reported (one line) and probed until it is."""
    if uri.startswith("memory://"):
        return SharedStore(None)
    options: dict[str, float] = {
        "socket_timeout": REDIS_TIMEOUT_S,
        "socket_connect_timeout": REDIS_TIMEOUT_S,
    }
    try:
        storage = storage_from_string(uri, **options)
    except Exception as exc:
        raise ConfigError(
            f"Invalid value for PERUQA_RATE_LIMIT_STORAGE: {exc}. "
            "Use memory:// or redis://host:port."
        ) from exc
    if not isinstance(storage, Storage):
        raise ConfigError("PERUQA_RATE_LIMIT_STORAGE must be a synchronous storage (no async+).")
    return SharedStore(storage)


def visitor_limiter(store: SharedStore, per_minute: float, burst: int, workers: int = 1) -> Limiter:
    # A burst of ``burst`` at once, and ``per_minute`` on average: the window is the time
    # the steady rate takes to earn a whole burst.
    seconds = max(1, round(burst * 60 / per_minute))
    return Limiter(store, burst, seconds, "peruqa-visitor", workers)


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limiter: Limiter | None,
        api_keys: Sequence[str] = (),
        # Every path that does work or writes for a visitor shares one budget per client.
        paths: Sequence[str] = ("/", "/ask", "/feedback", "/feedback/form"),
    ) -> None:
        self.app = app
        self.limiter = limiter
        # Empty strings would let an empty header through; never accept them as keys.
        self.api_keys = [key for key in api_keys if key]
        self.paths = frozenset(paths)

    def _has_staff_key(self, scope: Scope) -> bool:
        return staff_key(scope, self.api_keys) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.limiter is None
            or scope.get("path") not in self.paths
            or self._has_staff_key(scope)
        ):
            await self.app(scope, receive, send)
            return
        wait = self.limiter.hit(client_of(scope))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            message = (
                f"Too many questions from your address; please wait {seconds} s and try again."
            )
            await send_error(send, RateLimitedError(message, retry_after=seconds))
            return
        await self.app(scope, receive, send)
