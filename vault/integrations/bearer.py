"""The bearer token a client sends: the one rule :func:`vault.integrations.api.get_token`,
the ``httpx`` auth and the MCP bridge all follow."""

from __future__ import annotations

import os

from vault.agent.wire import result
from vault.services.opening import open_vault


def bearer_token(name: str, *, force: bool = False, home: str | os.PathLike[str] | None = None) -> str:
    """A token for ``name`` valid now (refreshed first when it is due), or with ``force`` one
    refreshed now (after a server said 401); from the running agent when there is one, else
    from the vault opened for as long as it takes (never a prompt).

    Raises:
        VaultLocked, NotFound, NeedsSignIn, ProviderError: as the CLI's ``token`` and ``refresh``.
    """
    answer = result("refresh" if force else "token", name, home=home)
    if answer is not None:
        return answer[0]
    with open_vault(home) as v:
        if force:
            from vault.services.tokens import refresh

            refresh(v, name, force=True)
        return v.token(name)
