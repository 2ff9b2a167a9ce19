"""``httpx.Auth`` backed by the vault: a fresh bearer token on every request, one
forced refresh and retry when the server answers 401 (through the agent when one runs).

For programs that use httpx, which tokendeck itself does not install (its own HTTP is
httpx2): ``pip install 'tokendeck[httpx]'``.  Programs on httpx2 use
:mod:`vault.integrations.httpx2_auth`, the same auth on httpx2's base class."""

from __future__ import annotations

import os
from collections.abc import Generator

from vault.integrations.bearer import bearer_flow

try:
    import httpx
except ModuleNotFoundError as missing:  # pragma: no cover - the test extra installs httpx
    raise ModuleNotFoundError(
        "vault.httpx_auth is for programs that use httpx, which tokendeck does not install: "
        "pip install 'tokendeck[httpx]' (on httpx2: vault.integrations.httpx2_auth)",
        name=missing.name,
    ) from None


class VaultAuth(httpx.Auth):
    """Authenticate httpx requests with a credential from the vault.

    Args:
        name: the credential.
        home: the vault home (default as the CLI).
    """

    def __init__(self, name: str, *, home: str | os.PathLike[str] | None = None) -> None:
        self.name = name
        self.home = home

    def __repr__(self) -> str:
        return f"VaultAuth({self.name!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield from bearer_flow(request, self.name, self.home)
