"""Where a credential's token may go: the hosts the proxy substitutes it for.

One rule, from the catalog (``assets/providers.toml``) and the credential's own facts, first
match wins:

- an MCP server's credential: the host of its server URL; an OAuth credential with an RFC 8707
  resource: the resource's host;
- the entry's ``proxy_hosts``: GitHub's six (API, git over https, uploads, archives, gists, raw
  files; not ``objects.githubusercontent.com``, release downloads redirected to with a signed URL
  that needs no token, nor any ``*.github.io``, anyone's Pages), Google's ``*.googleapis.com``;
  a registration can replace them (``overrides``, as any field of its entry);
- ``jira-dc``: the host of its ``--server-url``;
- else the hosts of the entry's identity, userinfo and check endpoints, params filled (GitLab's
  ``base_url`` host, ``gitlab.com`` by default; Linear's ``api.linear.app``, Slack's ``slack.com``...);
- ``api-key`` and anything else with no host known: none; ``--allow NAME=HOST,...`` must say.

``--allow NAME=HOST,...`` replaces the list.  A host is a DNS name (lower case), or ``*.`` and
one: every name below it, never the name itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from vault.core.masking import echo
from vault.core.model import MCP_URL_EXTRA, Credential
from vault.core.providers import Provider, builtin
from vault.errors import InvalidInput, NotFound

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})*")


def host_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host and "{" not in host else None


def catalog_hosts(credential: Credential, base: str, provider: Provider | None) -> tuple[str, ...]:
    """The hosts ``credential``'s token may be sent to, with no ``--allow`` saying otherwise.

    Args:
        credential: the stored credential (its extras name an MCP server or a server URL).
        base: the catalog entry it builds on (``gitlab`` for a self-managed GitLab, the
            registration's base for an OAuth credential, its provider for a static one).
        provider: the resolved provider (registration params filled in), when there is one.
    """
    mcp = host_of(str(credential.extras.get(MCP_URL_EXTRA) or ""))
    if mcp:
        return (mcp,)
    if provider is None:
        provider = _entry(base)  # an OAuth credential whose registration is gone: its entry's hosts
    if provider is not None and provider.resource and (resource := host_of(provider.resource)):
        return (resource,)
    if provider is not None and provider.proxy_hosts:
        return _unique(check_host(h) for h in provider.proxy_hosts)
    server = host_of(str(credential.extras.get("server_url") or ""))
    if server:
        return (server,)
    if provider is None:
        return ()
    return _unique(
        [
            host_of(provider.identity.url if provider.identity else None),
            host_of(provider.userinfo_url),
            host_of(provider.check.url if provider.check else None),
        ]
    )


def _entry(base: str) -> Provider | None:
    """The catalog entry ``base`` as it stands, when there is one (its "{param}" endpoints name no
    host: a self-managed GitLab whose registration is gone gets none, not gitlab.com)."""
    try:
        return builtin(base)
    except NotFound:
        return None


def _unique(hosts: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(h for h in hosts if h))


def check_host(host: str) -> str:
    """``host`` as a rule holds it (lower case), when it is a DNS name or ``*.`` and one.

    Raises:
        InvalidInput: anything else (a URL, a port, a path).
    """
    cleaned = host.strip().lower().rstrip(".")
    if not _HOST.fullmatch(cleaned):
        raise InvalidInput(f"--allow: {echo(host)} is not a host name (e.g. api.github.com or *.googleapis.com)")
    if cleaned.startswith("*.") and cleaned.count(".") < 2:  # *.com: every site of a top-level domain
        raise InvalidInput(f"--allow: {echo(host)} covers a whole top-level domain; name the site (*.example.com)")
    return cleaned


def parse_allow(specs: Sequence[str]) -> list[tuple[str, tuple[str, ...] | None]]:
    """``["NAME", "NAME=HOST,HOST", ...]`` as ``[(NAME, None or hosts), ...]`` in order.

    Raises:
        InvalidInput: no ``--allow``, an empty name or host list, a bad host, a name twice.
    """
    if not specs:
        raise InvalidInput("proxy run needs at least one --allow NAME (a credential it may use)")
    allowed: list[tuple[str, tuple[str, ...] | None]] = []
    seen: set[str] = set()
    for spec in specs:
        name, eq, hosts = spec.partition("=")
        if not name:
            raise InvalidInput(f"--allow {echo(spec)}: expected NAME or NAME=HOST,...")
        if name in seen:
            raise InvalidInput(f"--allow: {echo(name)} is given more than once")
        seen.add(name)
        if not eq:
            allowed.append((name, None))
            continue
        parts = [h for h in hosts.split(",") if h.strip()]
        if not parts:
            raise InvalidInput(f"--allow {echo(spec)}: no host after =")
        allowed.append((name, _unique(check_host(h) for h in parts)))
    return allowed


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether a request to ``host`` may carry a token allowed for ``allowed`` (exact names, or
    ``*.suffix`` for the names below ``suffix``)."""
    host = host.lower().rstrip(".")
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False
