"""What the placeholder proxy adds to a request (issue 35: target <= 3 ms at p50, warm).

Run from the repository root::

    .venv/bin/python benchmarks/proxy.py [--requests N]

One loopback HTTPS server (a certificate for api.github.com from a throw-away CA) and the
proxy (vault.proxy.engine, in this process, mapping api.github.com to that server). Two
clients on warm keep-alive connections (http.client, one connection each, opened before timing):
one straight to the server, one through the proxy's CONNECT tunnel with the placeholder in
`Authorization` (so every proxied request is a substitution, with its event). Requests alternate
between the two, so machine noise falls on both alike. Prints p50 and p99 of each, and what the
proxy adds (ms and ratio). Nothing asserts a time; it prints.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The repository root, in place of this script's folder: from there `import proxy` would be this
# file, not proxy.py the engine.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
from tests.support.proxy_servers import make_ca, serve, write_bundle  # noqa: E402
from vault.core.secret import Secret  # noqa: E402
from vault.proxy.engine import ProxyEvent, Rule, start_proxy  # noqa: E402

PLACEHOLDER = "ghp_benchPlaceholder000000000000000000"
TOKEN = "ghp_benchToken1111111111111111111111111"


def _timed(conn: http.client.HTTPSConnection, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    conn.request("GET", "/user", headers=headers)
    answer = conn.getresponse()
    answer.read()
    elapsed = time.perf_counter() - start
    if answer.status != 200:
        raise SystemExit(f"benchmark: a request answered {answer.status}")
    return elapsed * 1000


def _pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="timed requests on each side (default 2000)")
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args(argv)

    upstream, proxy_ca = make_ca("bench upstream CA"), make_ca("bench proxy CA")
    server = serve(upstream, ["api.github.com"])
    events: list[ProxyEvent] = []
    with tempfile.TemporaryDirectory(prefix="tokendeck-bench-proxy-") as scratch:
        upstream_file = write_bundle(Path(scratch) / "upstream.pem", upstream.cert_pem)
        proxy = start_proxy(
            ca_cert_pem=proxy_ca.cert_pem,
            ca_key_pem=Secret(proxy_ca.key_pem.decode()),
            rules={PLACEHOLDER: Rule("gh", frozenset({"api.github.com"}))},
            token_for=lambda name: TOKEN,
            on_event=events.append,
            auth=("bench", "bench-pass"),
            upstream_cafile=upstream_file,
            resolve={"api.github.com": ("127.0.0.1", server.port)},
        )
        try:
            direct_ctx = ssl.create_default_context(cadata=upstream.cert_pem.decode())
            direct_ctx.check_hostname = False  # the direct client dials 127.0.0.1; the name is checked by the proxy
            proxied_ctx = ssl.create_default_context(cadata=proxy_ca.cert_pem.decode())
            direct = http.client.HTTPSConnection("127.0.0.1", server.port, context=direct_ctx)
            proxied = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=proxied_ctx)
            auth = base64.b64encode(b"bench:bench-pass").decode()
            proxied.set_tunnel("api.github.com", 443, headers={"Proxy-Authorization": f"Basic {auth}"})
            direct_headers = {"Host": "api.github.com", "Authorization": f"Bearer {TOKEN}"}
            proxied_headers = {"Authorization": f"Bearer {PLACEHOLDER}"}
            for _ in range(args.warmup):
                _timed(direct, direct_headers)
                _timed(proxied, proxied_headers)
            straight: list[float] = []
            through: list[float] = []
            for _ in range(args.requests):
                straight.append(_timed(direct, direct_headers))
                through.append(_timed(proxied, proxied_headers))
            direct.close()
            proxied.close()
        finally:
            proxy.stop()
            server.stop()

    substituted = sum(1 for e in events if e.kind == "substituted")
    seen_tokens = sum(1 for s in server.seen if s[2].get("authorization") == f"Bearer {TOKEN}")
    print(f"placeholder proxy: {args.requests} warm requests each side, alternating (after {args.warmup} warm-up)")
    print(f"  substitutions: {substituted}; requests the server saw with the token: {seen_tokens}")
    print(f"  {'':14}{'p50 ms':>9}{'p99 ms':>9}")
    for label, samples in (("direct", straight), ("through proxy", through)):
        print(f"  {label:14}{_pct(samples, 50):9.3f}{_pct(samples, 99):9.3f}")
    for q in (50, 99):
        added = _pct(through, q) - _pct(straight, q)
        print(f"  added at p{q}: {added:.3f} ms ({_pct(through, q) / _pct(straight, q):.2f}x direct)")
    print("  target: <= 3 ms added at p50")


if __name__ == "__main__":
    main()
