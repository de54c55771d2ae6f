"""The HTTP protocol subclass against the uvicorn it was written for: an upgrade that moves
a hook it overrides or calls fails here by name, before any limit silently stops working
(the behaviour itself is tested over real sockets in ``test_serving``)."""

from __future__ import annotations

import inspect

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from peruqa.web.protocol import HOOKS, TimedHttpToolsProtocol


def test_every_hook_the_subclass_uses_is_still_uvicorns() -> None:
    for name in HOOKS:
        parent = getattr(HttpToolsProtocol, name, None)
        assert callable(parent), f"uvicorn's HttpToolsProtocol no longer has {name}()"
        ours = getattr(TimedHttpToolsProtocol, name)
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(parent).parameters
        ), f"uvicorn changed the signature of {name}(): re-check peruqa/web/protocol.py"


def test_the_subclass_overrides_exactly_its_hooks() -> None:
    own = {
        name
        for name, value in vars(TimedHttpToolsProtocol).items()
        if callable(value) and not name.startswith("_") and hasattr(HttpToolsProtocol, name)
    }
    assert own == set(HOOKS)


def test_the_state_it_reads_is_set_by_uvicorns_constructor() -> None:
    # headers, transport and loop are uvicorn's own attributes, read by the limits.
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in ("self.headers", "self.transport", "self.loop"):
        assert attribute in source, f"uvicorn's protocol no longer sets {attribute}"
