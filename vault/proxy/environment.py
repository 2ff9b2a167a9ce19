"""The environment ``tokendeck proxy run`` gives its command.

- each allowed credential's placeholder in its variables: the ``-e VAR=NAME`` given (the same
  syntax as ``tokendeck exec``), else the names the provider's tools read
  (the catalog entry's ``variables``: ``GITHUB_TOKEN`` and ``GH_TOKEN`` for GitHub...), else
  ``NAME`` upper-cased with ``_TOKEN`` (``my-key`` -> ``MY_KEY_TOKEN``);
- ``HTTPS_PROXY``/``HTTP_PROXY`` and their lower-case forms: ``http://USER:PASS@127.0.0.1:PORT``,
  the run's own credentials; ``ALL_PROXY`` is left alone;
- ``NO_PROXY``/``no_proxy`` without the allowed hosts (a token's requests must go through);
- the variables runtimes read to trust a CA bundle (:data:`CA_VARIABLES`), all naming the
  bundle of the system's CAs plus tokendeck's; ``NODE_USE_ENV_PROXY=1`` so Node's own
  ``fetch`` and ``https`` (Node 22.21+/24.5+) use the proxy variables.

The vault's passphrase variables are dropped (as ``exec`` drops them); nothing in the result is
a real token (the command checks that before it starts anything).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence

from vault.services.proxy_hosts import host_allowed
from vault.settings import unlocks_vault

PROXY_VARIABLES: tuple[str, ...] = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
NO_PROXY_VARIABLES: tuple[str, ...] = ("NO_PROXY", "no_proxy")
CA_VARIABLES: tuple[str, ...] = (
    "SSL_CERT_FILE",  # OpenSSL (Python's ssl, Ruby, many C programs), Go on Linux
    "REQUESTS_CA_BUNDLE",  # Python requests
    "CURL_CA_BUNDLE",  # curl, and requests too
    "NODE_EXTRA_CA_CERTS",  # Node: added to its built-in roots
    "GIT_SSL_CAINFO",  # git over https
    "AWS_CA_BUNDLE",  # AWS CLI and SDKs
    "PIP_CERT",  # pip
    "DENO_CERT",  # Deno
    "CARGO_HTTP_CAINFO",  # cargo
    "HEX_CACERTS_PATH",  # Elixir's hex
    "HTTPLIB2_CA_CERTS",  # httplib2: Google's Python API client
    "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",  # gcloud
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",  # gRPC (Google Cloud client libraries)
    "NIX_SSL_CERT_FILE",  # Nix's OpenSSL and curl
)
"""Where the common runtimes look for a CA bundle to trust (each names the whole bundle: the
system's CAs, the files these variables named before, and tokendeck's, so nothing else stops
being verified: :func:`vault.proxy.ca.write_bundle`)."""
NODE_PROXY_SWITCH = ("NODE_USE_ENV_PROXY", "1")
"""Node 22.21 and 24.5 added it: with it set, ``fetch`` and ``https`` honour ``HTTPS_PROXY``."""


def default_variables(name: str, base: str) -> tuple[str, ...]:
    """The variables a credential's placeholder goes in when no ``-e`` names one: its catalog
    entry's ``variables``, else ``NAME_TOKEN``."""
    from vault.core.providers import builtin
    from vault.errors import NotFound

    with contextlib.suppress(NotFound):
        if variables := builtin(base).variables:
            return variables
    cleaned = "".join(c if c.isascii() and c.isalnum() else "_" for c in name).upper()
    return (f"{'_' if cleaned[:1].isdigit() else ''}{cleaned}_TOKEN",)


def proxy_url(port: int, auth: tuple[str, str]) -> str:
    user, password = auth
    return f"http://{user}:{password}@127.0.0.1:{port}"


def without_hosts(no_proxy: str, allowed: Iterable[str]) -> str:
    """A ``NO_PROXY`` value without the entries a token's request could match: each allowed host,
    a domain suffix covering one, and ``*`` (which would bypass the proxy for everything)."""
    patterns = tuple(allowed)
    kept = []
    for entry in no_proxy.split(","):
        item = entry.strip()
        if not item:
            continue
        bare = item.lower().split(":")[0].lstrip("*").lstrip(".")
        if item == "*" or any(_covers(bare, host) for host in patterns):
            continue
        kept.append(item)
    return ",".join(kept)


def _covers(entry: str, host: str) -> bool:
    """Whether a ``NO_PROXY`` entry (``github.com`` also covers ``api.github.com``) could match
    a host the rule allows (``*.googleapis.com`` is covered by ``googleapis.com``)."""
    target = host[2:] if host.startswith("*.") else host
    return bool(entry) and (target == entry or target.endswith("." + entry) or host_allowed(entry, [host]))


def child_environment(
    base: Mapping[str, str],
    *,
    placeholders: Mapping[str, str],
    port: int,
    auth: tuple[str, str],
    bundle: str,
    allowed_hosts: Sequence[str],
) -> dict[str, str]:
    """The command's environment: ``base`` without the vault's passphrase variables, with
    ``placeholders`` (``{VAR: placeholder}``), the proxy, the trust and the ``NO_PROXY`` rules."""
    env = {k: v for k, v in base.items() if not unlocks_vault(k)}
    env.update(placeholders)
    url = proxy_url(port, auth)
    env.update(dict.fromkeys(PROXY_VARIABLES, url))
    for var in NO_PROXY_VARIABLES:
        if var in env:
            env[var] = without_hosts(env[var], allowed_hosts)
    env.update(dict.fromkeys(CA_VARIABLES, bundle))
    env[NODE_PROXY_SWITCH[0]] = NODE_PROXY_SWITCH[1]
    return env
