"""The bearer token a client sends: the one rule :func:`vault.integrations.api.get_token`,
the ``httpx`` and ``httpx2`` auths and the MCP bridge all follow."""

from __future__ import annotations

import os
from collections.abc import Generator, MutableMapping
from typing import Any, Protocol, TypeVar

from vault.agent.wire import result
from vault.services.opening import SessionVault


class BearerTokens:
    """Tokens for ``home``'s credentials, each valid now: from the running agent when one
    answers, else from the vault, unlocked on the first call and kept for the next ones
    (:class:`~vault.services.opening.SessionVault`: a long-lived process such as the MCP
    bridge pays the KDF once, not once per token; never a prompt).

    Args:
        home: the vault home (default as the CLI).
    """

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = home
        self.vault = SessionVault(home)

    def __repr__(self) -> str:
        return f"BearerTokens({self.home!r})"

    def token(self, name: str, *, force: bool = False) -> str:
        """A token for ``name`` valid now (refreshed first when it is due), or with ``force`` one
        refreshed now (after a server said 401).  A refresh is rotation-safe either way: the
        agent's, or this process's under the credential's lock.

        Raises:
            VaultLocked, NotFound, NeedsSignIn, ProviderError: as the CLI's ``token`` and ``refresh``.
        """
        answer = result("refresh" if force else "token", name, home=self.home)
        if answer is not None:
            return answer[0]
        with self.vault.opened() as v:
            if force:
                from vault.services.refreshing import refresh

                refresh(v, name, force=True)
            return v.token(name)


def bearer_token(name: str, *, force: bool = False, home: str | os.PathLike[str] | None = None) -> str:
    """A token for ``name`` valid now (refreshed first when it is due), or with ``force`` one
    refreshed now (after a server said 401); from the running agent when there is one, else
    from the vault opened for as long as it takes (never a prompt).

    Raises:
        VaultLocked, NotFound, NeedsSignIn, ProviderError: as the CLI's ``token`` and ``refresh``.
    """
    return BearerTokens(home).token(name, force=force)


class _Request(Protocol):
    @property
    def headers(self) -> MutableMapping[str, str]: ...


class _Response(Protocol):
    @property
    def status_code(self) -> int: ...


R = TypeVar("R", bound=_Request)


def bearer_flow(request: R, name: str, home: str | os.PathLike[str] | None = None) -> Generator[R, Any, None]:
    """An ``auth_flow`` for httpx and httpx2 alike: ``request`` with a bearer token valid now;
    if the server answers 401, once more with one refreshed now (:func:`bearer_token`)."""
    request.headers["Authorization"] = f"Bearer {bearer_token(name, home=home)}"
    response: _Response = yield request
    if response.status_code == 401:
        request.headers["Authorization"] = f"Bearer {bearer_token(name, force=True, home=home)}"
        yield request
