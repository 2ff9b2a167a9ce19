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

``--installed``: the same comparison as users run it: the installed ``tokendeck`` (next to this
Python), a passphrase vault at SQLCipher's default cost in a throw-away home, ``tokendeck agent
start``, and ``tokendeck proxy run --allow gh -- python CHILD`` with no passphrase in its
environment (so the setup and every token come through the agent). The child times its own
requests, alternating, on two warm connections: one straight to the server, one through the run's
HTTPS_PROXY with the placeholder from $GITHUB_TOKEN (TOKENDECK_PROXY_RESOLVE sends api.github.com
to the loopback server). Each proxied request asks the agent for the token and queues an audit row.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
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
    parser.add_argument("--installed", action="store_true", help="through the installed tokendeck proxy run and agent")
    args = parser.parse_args(argv)
    if args.installed:
        installed(args.requests, args.warmup)
        return

    upstream, proxy_ca = make_ca("bench upstream CA"), make_ca("bench proxy CA")
    server = serve(upstream, ["api.github.com"])
    events: list[ProxyEvent] = []
    with tempfile.TemporaryDirectory(prefix="tokendeck-bench-proxy-") as scratch:
        upstream_file = write_bundle(Path(scratch) / "upstream.pem", upstream.cert_pem)
        proxy = start_proxy(
            ca_cert_pem=proxy_ca.cert_pem,
            ca_key_pem=Secret(proxy_ca.key_pem.decode()),
            rules={PLACEHOLDER: Rule("gh", frozenset({"api.github.com"}))},
            token_for=lambda name, host: TOKEN,
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
    _report(straight, through)


def _report(straight: list[float], through: list[float]) -> None:
    """p50 and p99 of each side, what the proxy adds, and the target."""
    print(f"  {'':14}{'p50 ms':>9}{'p99 ms':>9}")
    for label, samples in (("direct", straight), ("through proxy", through)):
        print(f"  {label:14}{_pct(samples, 50):9.3f}{_pct(samples, 99):9.3f}")
    for q in (50, 99):
        added = _pct(through, q) - _pct(straight, q)
        print(f"  added at p{q}: {added:.3f} ms ({_pct(through, q) / _pct(straight, q):.2f}x direct)")
    print("  target: <= 3 ms added at p50")


CHILD = r"""
import base64, http.client, json, os, ssl, sys, time
from urllib.parse import urlsplit
requests, warmup, direct_port, upstream_ca = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
proxy = urlsplit(os.environ["HTTPS_PROXY"])
auth = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode()
direct_ctx = ssl.create_default_context(cafile=upstream_ca)
direct_ctx.check_hostname = False
direct = http.client.HTTPSConnection("127.0.0.1", direct_port, context=direct_ctx)
proxied = http.client.HTTPSConnection(proxy.hostname, proxy.port, context=ssl.create_default_context())
proxied.set_tunnel("api.github.com", 443, headers={"Proxy-Authorization": "Basic " + auth})
heads = ({"Host": "api.github.com", "Authorization": "Bearer direct"},
         {"Authorization": "Bearer " + os.environ["GITHUB_TOKEN"]})
def timed(conn, headers):
    start = time.perf_counter()
    conn.request("GET", "/user", headers=headers)
    answer = conn.getresponse()
    answer.read()
    if answer.status != 200:
        raise SystemExit(f"a request answered {answer.status}")
    return (time.perf_counter() - start) * 1000
for _ in range(warmup):
    timed(direct, heads[0]); timed(proxied, heads[1])
samples = [[], []]
for _ in range(requests):
    samples[0].append(timed(direct, heads[0])); samples[1].append(timed(proxied, heads[1]))
print(json.dumps(samples))
"""
"""The command the installed run starts: times both sides itself, prints the samples as JSON."""


def installed(requests: int, warmup: int) -> None:
    tokendeck = shutil.which("tokendeck", path=os.path.dirname(sys.executable))
    if tokendeck is None:
        raise SystemExit("benchmark: no tokendeck next to this Python (pip install -e . first)")
    upstream = make_ca("bench upstream CA")
    server = serve(upstream, ["api.github.com"])
    with tempfile.TemporaryDirectory(prefix="tokendeck-bench-proxy-") as scratch:
        root = Path(scratch)
        runtime = root / "run"
        runtime.mkdir(mode=0o700)
        env = {
            **os.environ,
            "TOKENDECK_HOME": str(root / "home"),
            "TOKENDECK_RUNTIME_DIR": str(runtime),
            "TOKENDECK_PASSPHRASE": "bench passphrase, default KDF cost",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }

        def td(*argv: str, stdin: str = "") -> None:
            done = subprocess.run([tokendeck, *argv], input=stdin, capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                raise SystemExit(f"benchmark: tokendeck {argv[0]}: {done.stderr.strip()}")

        td("init", "--passphrase")
        td("add", "gh", "--provider", "github-pat", stdin=TOKEN)
        td("agent", "start")
        try:
            run_env = {k: v for k, v in env.items() if k not in ("TOKENDECK_PASSPHRASE", "NO_PROXY", "no_proxy")}
            run_env["TOKENDECK_PROXY_RESOLVE"] = f"api.github.com={server.port}"
            run_env["TOKENDECK_PROXY_UPSTREAM_CA"] = write_bundle(root / "upstream.pem", upstream.cert_pem)
            command = [tokendeck, "proxy", "run", "--allow", "gh", "--", sys.executable, "-c", CHILD]
            command += [str(requests), str(warmup), str(server.port), run_env["TOKENDECK_PROXY_UPSTREAM_CA"]]
            done = subprocess.run(command, capture_output=True, text=True, env=run_env, check=False)
            if done.returncode != 0:
                raise SystemExit(f"benchmark: proxy run exited {done.returncode}: {done.stderr.strip()[-300:]}")
            straight, through = json.loads(done.stdout)
        finally:
            td("agent", "stop")
            server.stop()
    seen_tokens = sum(1 for s in server.seen if s[2].get("authorization") == f"Bearer {TOKEN}")
    print(f"installed proxy run, through the agent: {requests} warm requests each side, alternating")
    print(f"  requests the server saw with the real token: {seen_tokens} (of {requests + warmup} proxied)")
    _report(straight, through)


if __name__ == "__main__":
    main()
