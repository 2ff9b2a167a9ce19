"""How much the vault adds to refreshing many OAuth credentials at once.

Run from the repository root::

    .venv/bin/python benchmarks/refresh.py [--count 500] [--repeats 3] [--concurrency 4]

It starts the loopback Authlib test server (``tests/support/authserver/``; by
default in a child process, so it neither shares this process's GIL nor shows
up in its memory, as a real provider would not; ``--server thread`` runs it
in-process instead), creates a throw-away passphrase vault (SQLCipher's default
KDF, ``synchronous=FULL``, on the temp dir's real file system) and registers
the server as provider ``acme`` by discovery, exactly as ``tokendeck provider
add acme --issuer URL`` does.  Then, ``--repeats`` times, interleaved and with
the order alternating, each side with its own fresh tokens from
``issue_token``:

- A, tokendeck: ``--count`` OAuth credentials stored with their access tokens
  already expired, then ``BackgroundRefresher(vault, concurrency=C).run_once()``
  (the due scan, the pool, per credential: the flock, reads, the token request,
  the durable save, the audit event);
- B, the baseline: the same number of ``grant_type=refresh_token`` POSTs to the
  same token endpoint from one ``httpx2.Client`` shared by a pool of C threads,
  each JSON answer parsed and checked, no vault;
- A2, through the agent: the same due credentials, each asked for once over the
  agent's socket (``token NAME``, as ``tokendeck token`` asks) by C client threads
  in another process; every answer is a refresh on read inside the agent
  (``_agent_side.py``);
- B', a second baseline: like B, but a new client per refresh, built the way
  tokendeck builds its clients (``vault.oauth.http.new_client``; tokendeck's refreshes
  share one per vault, ``Vault.http_client``).

About connections: tokendeck's vault sends every provider call through one pool of
keep-alive connections (``vault.oauth.http.KeepAliveTransport``), as B's shared
client does.  The loopback server (werkzeug's) closes every connection after its
answer, so here every side opens a new TCP connection per refresh and B'/B shows
only the cost of a new client object; what the pool saves against a real provider
(a TLS handshake per refresh) cannot show on loopback.

Wall times are medians over the repeats; A/B is the figure the issue's target
(at most 1.5) is about, and A2/B the one "through the agent" (at most 1.2).
Afterwards, untimed for the ratio, single runs:

- memory: A and B once more each under ``tracemalloc`` (the peak of what the
  run allocated; with the server in a child process that is the client side
  only), and the process's ``ru_maxrss`` (and the server's);
- where A's time goes: one run with the refresh path's functions wrapped in
  timers (thread-seconds summed over the C workers, so the parts add up to the
  time spent inside ``refresh()``, not to the wall time);
- a what-if, also a single run each: A and A2 with ``PRAGMA synchronous = NORMAL`` (not
  durable, so not an option; it shows what the fsyncs cost);
- CPU per refresh of every timed run (user + system, all threads): this process,
  the server's process and A2's client process, and their sum over the cores, the
  least wall time that much work needs on this machine.  B is bound by the server's
  latency; A and A2 come close to their CPU floor, which is where the vault's work
  (SQLCipher pages, a durable commit, the agent's round trip) shows.

Milliseconds are this machine's and noisy; compare the ratios, measured in the
same run.  It exits 1 if a refresh failed or a check did not hold.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import httpx2

    from vault import Vault

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _agent_side import AgentSide  # noqa: E402
from _common import CLIENT_ID, PASSPHRASE, register_provider, store_expired  # noqa: E402

TARGET = 1.5
AGENT_TARGET = 1.2
WARMUP_COUNT = 20
"""Refreshes in the untimed warm-up of each side (imports, first connections)."""
SERVER_START_TIMEOUT = 60.0

T = TypeVar("T")


# ------------------------------------------------------------------ the server


class Server(Protocol):
    issuer: str

    def issue(self, count: int) -> list[dict[str, Any]]: ...

    def refresh_count(self) -> int: ...

    def errors(self) -> list[str]: ...

    def cpu(self) -> float | None:
        """The server process's CPU seconds so far (user + system), None when it is this process."""
        ...

    def stop(self) -> int | None: ...


class ThreadServer:
    """The loopback server on threads of this process."""

    def __init__(self) -> None:
        from tests.support.authserver import start_auth_server

        self._server = start_auth_server()
        self._server.register_client(CLIENT_ID)
        self.issuer = self._server.issuer

    def issue(self, count: int) -> list[dict[str, Any]]:
        return [self._server.issue_token(CLIENT_ID) for _ in range(count)]

    def refresh_count(self) -> int:
        return self._server.token_request_count("refresh_token")

    def errors(self) -> list[str]:
        return self._server.server_errors()

    def cpu(self) -> float | None:
        return None

    def stop(self) -> int | None:
        self._server.close()
        return None


def _serve(conn: Connection) -> None:
    """The child process: run the server, answer commands on the pipe until "stop"."""
    from tests.support.authserver import running_auth_server

    with running_auth_server() as server:
        server.register_client(CLIENT_ID)
        conn.send(server.issuer)
        while True:
            command, arg = conn.recv()
            if command == "issue":
                conn.send([server.issue_token(CLIENT_ID) for _ in range(arg)])
            elif command == "refreshes":
                conn.send(server.token_request_count("refresh_token"))
            elif command == "errors":
                conn.send(server.server_errors())
            elif command == "cpu":
                conn.send(cpu_seconds())
            else:
                break
    conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class ProcessServer:
    """The loopback server in a child process; tokens are minted there, sent over a pipe."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), name="authserver", daemon=True)
        self._process.start()
        child.close()
        if not self._conn.poll(SERVER_START_TIMEOUT):
            self._process.kill()
            raise RuntimeError("the auth server process did not start")
        self.issuer: str = self._conn.recv()

    def _ask(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        return self._conn.recv()

    def issue(self, count: int) -> list[dict[str, Any]]:
        return list(self._ask("issue", count))

    def refresh_count(self) -> int:
        return int(self._ask("refreshes"))

    def errors(self) -> list[str]:
        return list(self._ask("errors"))

    def cpu(self) -> float | None:
        return float(self._ask("cpu"))

    def stop(self) -> int | None:
        maxrss = None
        with contextlib.suppress(OSError, EOFError):
            self._conn.send(("stop", None))
            if self._conn.poll(SERVER_START_TIMEOUT):
                maxrss = int(self._conn.recv())
        self._process.join(SERVER_START_TIMEOUT)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()
        return maxrss


# ------------------------------------------------------------------- the sides


def cpu_seconds() -> float:
    """This process's CPU seconds so far, every thread, user + system (fsync's work included)."""
    times = os.times()
    return times.user + times.system


def name_of(i: int) -> str:
    return f"bench-{i:04d}"


def seed(v: Vault, tokens: Sequence[dict[str, Any]]) -> None:
    """Store (or overwrite) credentials bench-0000... with these tokens, all already expired."""
    store_expired(v, [name_of(i) for i in range(len(tokens))], tokens)


def run_vault(v: Vault, count: int, concurrency: int) -> float:
    """Side A: one ``run_once``; checks that every credential was refreshed. Returns seconds."""
    from vault.services.refresher import BackgroundRefresher

    refresher = BackgroundRefresher(v, concurrency=concurrency)
    start = time.perf_counter()
    events = refresher.run_once()
    elapsed = time.perf_counter() - start
    refreshed = {e.credential for e in events if e.kind == "refreshed"}
    others = [f"{e.credential}: {e.kind} {e.detail}" for e in events if e.kind != "refreshed"]
    if others or refreshed != {name_of(i) for i in range(count)}:
        raise RuntimeError(f"A refreshed {len(refreshed)} of {count}; other events: {others[:5]}")
    return elapsed


def check_vault(v: Vault) -> None:
    """After A: every stored credential is active with an unexpired access token."""
    now = v.clock.now()
    stale = [
        c.name for c in v.credentials() if c.stored_status != "active" or c.expires_at is None or c.expires_at <= now
    ]
    if stale:
        raise RuntimeError(f"A left {len(stale)} credentials not refreshed, e.g. {stale[0]}")


def refresh_bare(http: httpx2.Client, token_url: str, refresh_token: str) -> float:
    """One ``grant_type=refresh_token`` POST, its JSON parsed and checked; returns seconds."""
    start = time.perf_counter()
    response = http.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID},
        headers={"Accept": "application/json"},
    )
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict) or not data.get("access_token") or not data.get("refresh_token"):
        raise RuntimeError("the token endpoint answered without a token pair")
    return time.perf_counter() - start


def run_bare(token_url: str, tokens: Sequence[dict[str, Any]], concurrency: int) -> tuple[float, float]:
    """Side B: one shared ``httpx2.Client``. Returns (wall seconds, summed request seconds)."""
    import httpx2

    start = time.perf_counter()
    with httpx2.Client() as http, ThreadPoolExecutor(max_workers=concurrency) as pool:
        latencies = list(pool.map(lambda t: refresh_bare(http, token_url, t["refresh_token"]), tokens))
    return time.perf_counter() - start, sum(latencies)


def run_bare_new_client(token_url: str, tokens: Sequence[dict[str, Any]], concurrency: int) -> float:
    """Side B': a new tokendeck-style client (so a new connection) per refresh. Returns seconds."""
    from vault.oauth.http import new_client

    def one(token: dict[str, Any]) -> float:
        with new_client() as http:
            return refresh_bare(http, token_url, token["refresh_token"])

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, tokens))
    return time.perf_counter() - start


# ----------------------------------------------------------- where A's time goes


class Meter:
    """Thread-safe totals of seconds and calls per label."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def add(self, label: str, seconds: float) -> None:
        with self._lock:
            self.seconds[label] = self.seconds.get(label, 0.0) + seconds
            self.calls[label] = self.calls.get(label, 0) + 1

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(label, time.perf_counter() - start)

        return timed

    def wrap_lock(self, label: str, cm: Callable[..., Any]) -> Callable[..., Any]:
        """Times entering a context manager (taking the lock), not its body."""

        @contextlib.contextmanager
        def timed(*args: Any, **kwargs: Any) -> Iterator[None]:
            start = time.perf_counter()
            with cm(*args, **kwargs):
                self.add(label, time.perf_counter() - start)
                yield

        return timed


PARTS = (
    ("lock", "take the credential's flock"),
    ("get", "records.get (read + decrypt, under the lock)"),
    ("get_client", "records.get_client"),
    ("resolve", "providers.resolve"),
    ("client_init", "OAuthClient() (on the vault's shared client)"),
    ("token_request", "token request (HTTP + checks)"),
    ("client_close", "OAuthClient.close"),
    ("token_set", "token_set"),
    ("save", "records.save_refreshed (shared commit, fsync)"),
)


@contextlib.contextmanager
def metered() -> Iterator[Meter]:
    """Wrap the refresh path's functions in timers; restore them afterwards."""
    import vault.oauth.tokens
    import vault.services.refresher
    import vault.services.refreshing
    from vault.core.repository import Repository
    from vault.oauth.client import OAuthClient

    meter = Meter()
    targets: list[tuple[Any, str, str]] = [  # (owner, attribute, label); a module's name is what its callers see
        (vault.services.refresher, "refresh", "refresh"),
        (vault.services.refreshing, "credential_lock", "lock"),
        (vault.services.refreshing, "resolve", "resolve"),
        (vault.oauth.tokens, "token_set", "token_set"),
        (Repository, "get", "get"),  # the refresh reads and writes through vault.records
        (Repository, "get_client", "get_client"),
        (Repository, "save_refreshed", "save"),
        (Repository, "credentials", "credentials"),
        (OAuthClient, "__init__", "client_init"),
        (OAuthClient, "token_request", "token_request"),
        (OAuthClient, "close", "client_close"),
    ]
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in targets]
    for (owner, attr, label), (_, _, original) in zip(targets, originals, strict=True):
        wrap = meter.wrap_lock if label == "lock" else meter.wrap
        setattr(owner, attr, wrap(label, original))
    try:
        yield meter
    finally:
        for owner, attr, original in originals:
            setattr(owner, attr, original)


@contextlib.contextmanager
def synchronous_normal(v: Vault) -> Iterator[None]:
    """Diagnostic only: WAL commits without fsync (the product never does this)."""
    store = v.records._store  # noqa: SLF001 - a what-if, restored below
    store.query("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        store.query("PRAGMA synchronous = FULL")


# --------------------------------------------------------------------- running


@dataclasses.dataclass
class Results:
    """Everything measured; seconds unless the name says otherwise."""

    a: list[float] = dataclasses.field(default_factory=list)
    b: list[float] = dataclasses.field(default_factory=list)
    b_new: list[float] = dataclasses.field(default_factory=list)
    b_latency: list[float] = dataclasses.field(default_factory=list)
    """B's summed per-request seconds (thread-time), per repeat."""
    timed_maxrss_mib: float = 0.0
    mem_a_mib: float = 0.0
    mem_b_mib: float = 0.0
    seed_ms: float = 0.0
    get_ms: float = 0.0
    metered_wall: float = 0.0
    meter: Meter = dataclasses.field(default_factory=Meter)
    agent: list[float] = dataclasses.field(default_factory=list)
    commits: list[int] = dataclasses.field(default_factory=list)
    """A's commits per timed run (its saves share them)."""
    nosync_wall: float = 0.0
    nosync_agent_wall: float = 0.0
    cpu: dict[str, list[tuple[float, float, float]]] = dataclasses.field(default_factory=dict)
    """Per side and timed run, CPU seconds: (this process, the server process, A2's client process)."""
    refreshes: int = 0
    """Refresh requests this run sent (all sides, warm-up included)."""
    served: int = 0
    """Refresh requests the server counted."""
    server_errors: list[str] = dataclasses.field(default_factory=list)
    server_maxrss_kib: int | None = None
    vault_bytes: int = 0


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def traced(fn: Callable[[], Any]) -> float:
    """Peak MiB that ``fn`` allocated (tracemalloc), started right before it."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(server: Server, home: Path, n: int, c: int, repeats: int, r: Results) -> None:
    """Every run, in order, into ``r``; raises RuntimeError when a check fails."""
    from vault.services.opening import init_vault

    v = init_vault(home, mode="passphrase", passphrase=PASSPHRASE)
    agent: AgentSide | None = None
    try:
        token_url = register_provider(v, server.issuer)
        before = server.refresh_count()

        def counted(side: str, run: Callable[[], T]) -> T:
            """``run()``, its CPU seconds (here, the server's, A2's clients') kept under ``side``."""
            here, served = cpu_seconds(), server.cpu()
            result = run()
            here, served_after = cpu_seconds() - here, server.cpu()
            serving = served_after - served if served is not None and served_after is not None else 0.0
            clients = agent.client_cpu if side == "agent" and agent is not None else 0.0
            r.cpu.setdefault(side, []).append((here, serving, clients))
            return result

        def vault_side(count: Callable[[str, Callable[[], float]], float] | None = None) -> float:
            commits = v.records._store.commits  # noqa: SLF001 - how many saves shared a commit
            elapsed = count("a", lambda: run_vault(v, n, c)) if count else run_vault(v, n, c)
            r.commits.append(v.records._store.commits - commits)  # noqa: SLF001
            check_vault(v)
            r.refreshes += n
            return elapsed

        def agent_side() -> float:
            running = agent
            assert running is not None  # noqa: S101 - started below
            elapsed = counted("agent", lambda: running.run(n))
            check_vault(v)
            r.refreshes += n
            return elapsed

        # warm-up: imports, first connections, the vault's first pages
        seed(v, server.issue(WARMUP_COUNT))
        run_vault(v, WARMUP_COUNT, c)
        check_vault(v)
        run_bare(token_url, server.issue(WARMUP_COUNT), c)
        run_bare_new_client(token_url, server.issue(WARMUP_COUNT), c)
        agent = AgentSide(v, home, [name_of(i) for i in range(n)], c, on_error=fail)
        seed(v, server.issue(WARMUP_COUNT))
        agent.run(WARMUP_COUNT)
        r.refreshes += 4 * WARMUP_COUNT

        for repeat in range(repeats):
            order = ("a", "agent", "b", "b_new") if repeat % 2 == 0 else ("b_new", "b", "agent", "a")
            for side in order:
                if side == "a":
                    seed(v, server.issue(n))
                    r.a.append(vault_side(counted))
                elif side == "agent":
                    seed(v, server.issue(n))
                    r.agent.append(agent_side())
                elif side == "b":
                    b_tokens = server.issue(n)
                    wall, latency = counted("b", lambda: run_bare(token_url, b_tokens, c))  # noqa: B023 - called at once
                    r.b.append(wall)
                    r.b_latency.append(latency)
                else:
                    b_tokens = server.issue(n)
                    r.b_new.append(counted("b_new", lambda: run_bare_new_client(token_url, b_tokens, c)))  # noqa: B023
            r.refreshes += 2 * n
        r.timed_maxrss_mib = maxrss_mib()

        # memory, one run each, tracemalloc on
        seed(v, server.issue(n))
        r.mem_a_mib = traced(vault_side)
        b_tokens = server.issue(n)
        r.mem_b_mib = traced(lambda: run_bare(token_url, b_tokens, c))
        r.refreshes += n

        # where A's time goes, one run (first: a save and a get on their own)
        tokens = server.issue(n)
        start = time.perf_counter()
        seed(v, tokens)  # sequential saves: what one durable commit costs without contention
        r.seed_ms = (time.perf_counter() - start) / n * 1000
        start = time.perf_counter()
        for i in range(n):
            v.get(name_of(i))
        r.get_ms = (time.perf_counter() - start) / n * 1000
        with metered() as r.meter:
            r.metered_wall = run_vault(v, n, c)
        check_vault(v)
        r.refreshes += n

        # the what-if, one run
        seed(v, server.issue(n))
        with synchronous_normal(v):
            r.nosync_wall = vault_side()
        seed(v, server.issue(n))
        with synchronous_normal(v):
            r.nosync_agent_wall = agent.run(n)
        check_vault(v)
        r.refreshes += n

        r.served = server.refresh_count() - before
        r.server_errors = server.errors()
        r.vault_bytes = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    finally:
        if agent is not None:
            agent.stop()  # it closes the vault it serves
        v.close()


def fail(message: str) -> None:
    raise RuntimeError(message)


def report(r: Results, n: int, c: int, repeats: int, server_kind: str, where: Path) -> bool:
    """Print the tables; return whether every check held."""
    med_a, med_b, med_b2 = (statistics.median(x) for x in (r.a, r.b, r.b_new))
    ratio = med_a / med_b
    print(f"tokendeck background refresh: {n} due credentials, concurrency {c}, {repeats} timed repeats")
    print(f"(+ a warm-up of {WARMUP_COUNT}); sides interleaved, order alternating, fresh tokens for every run")
    server_at = "a child process" if server_kind == "process" else "threads of this process (shares the GIL)"
    print(f"loopback Authlib server in {server_at}; passphrase vault, synchronous=FULL, in {where}")
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]}); {os.cpu_count()} CPUs")
    print("milliseconds are this machine's and noisy; compare the ratios\n")

    rows = (
        ("A  tokendeck BackgroundRefresher.run_once", r.a),
        ("A2 through the agent (token on read, over its socket)", r.agent),
        ("B  bare httpx2, one shared client (baseline)", r.b),
        ("B' bare httpx2, new client per refresh", r.b_new),
    )
    width = max(len(label) for label, _ in rows)
    print(f"{'side':<{width}}  {'median s':>8}  {'min s':>6}  {'max s':>6}  {'ms/refresh':>10}  {'x B':>5}")
    for label, values in rows:
        med = statistics.median(values)
        print(
            f"{label:<{width}}  {med:>8.3f}  {min(values):>6.3f}  {max(values):>6.3f}  "
            f"{med / n * 1000:>10.2f}  {med / med_b:>5.2f}"
        )
    pairs = [a / b for a, b in zip(r.a, r.b, strict=True)]
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"\nA / B  = {ratio:.2f} (ratio of the medians); target <= {TARGET}: {verdict}")
    listed = ", ".join(f"{p:.2f}" for p in pairs)
    print(f"         per repeat {listed}; their median {statistics.median(pairs):.2f}")
    med_agent = statistics.median(r.agent)
    verdict = "met" if med_agent / med_b <= AGENT_TARGET else "NOT met"
    print(f"A2 / B = {med_agent / med_b:.2f} through the agent; target <= {AGENT_TARGET}: {verdict}")
    agent_pairs = ", ".join(f"{x / b:.2f}" for x, b in zip(r.agent, r.b, strict=True))
    print(f"         per repeat {agent_pairs}; A2 / A = {med_agent / med_a:.2f} (what the socket round trip adds)")
    print(f"A / B' = {med_a / med_b2:.2f} (B' builds a new client per refresh; A shares one per vault)")
    print(f"B' / B = {med_b2 / med_b:.2f} (a new client object per refresh; both open a connection each time here)")
    commits = statistics.median(r.commits)
    print(f"A's saves per durable commit (group commit): {n / commits:.1f} ({commits:.0f} commits for {n} saves)")
    b_latency = statistics.median(r.b_latency) / n * 1000
    print(f"B's mean request latency inside its pool: {b_latency:.2f} ms")
    report_cpu(r, n)

    print("\npeak memory (single runs; tracemalloc: the peak of what the run allocated)")
    print(f"  A  {r.mem_a_mib:6.2f} MiB  ({r.mem_a_mib * 1024 / n:.1f} KiB per credential)")
    print(f"  B  {r.mem_b_mib:6.2f} MiB  ({r.mem_b_mib * 1024 / n:.1f} KiB per refresh)")
    print(f"  A / B = {r.mem_a_mib / r.mem_b_mib:.2f}")
    print(
        f"  ru_maxrss of this process: {r.timed_maxrss_mib:.1f} MiB after the timed runs, {maxrss_mib():.1f} at the end"
    )
    if r.server_maxrss_kib is not None:
        print(f"  ru_maxrss of the server process: {r.server_maxrss_kib / 1024:.1f} MiB")
    print(f"  vault home on disk at the end: {r.vault_bytes / 2**20:.2f} MiB")

    report_breakdown(r, n, c, b_latency)

    nosync = r.nosync_wall
    print("\nwhat-if (a single run on the same vault; compare with A's median)")
    print(f"  A, synchronous=NORMAL (no fsync per commit, NOT durable): {nosync:.3f} s = {nosync / med_b:.2f} x B")
    agent_nosync = r.nosync_agent_wall
    ratio = agent_nosync / med_b
    print(f"  A2 through the agent, synchronous=NORMAL (NOT durable): {agent_nosync:.3f} s = {ratio:.2f} x B")

    ok = r.served == r.refreshes and not r.server_errors
    errors = len(r.server_errors)
    print(f"\nrefresh requests the server answered: {r.served} (sent {r.refreshes}); server errors: {errors}")
    for error in r.server_errors[:5]:
        print(f"  {error.strip().splitlines()[-1] if error.strip() else '(empty)'}")
    return ok


def report_cpu(r: Results, n: int) -> None:
    """CPU per refresh on each side, and the wall time it alone would need on this machine's cores."""
    if not r.cpu.get("b") or not any(served for _, served, _ in r.cpu["b"]):
        return  # the server shares this process: its CPU cannot be told apart
    cores = os.cpu_count() or 1
    print(f"\nCPU per refresh (ms, medians of the timed runs; user + system, every thread; {cores} cores)")
    print(f"{'side':<5}  {'here':>6}  {'server':>6}  {'clients':>7}  {'total':>6}  {'total/cores':>11}  {'wall':>6}")
    walls = {"a": r.a, "agent": r.agent, "b": r.b, "b_new": r.b_new}
    for side, label in (("a", "A"), ("agent", "A2"), ("b", "B"), ("b_new", "B'")):
        runs = r.cpu.get(side, [])
        if not runs:
            continue
        here, served, clients = (statistics.median(x[i] for x in runs) / n * 1000 for i in range(3))
        total = here + served + clients
        wall = statistics.median(walls[side]) / n * 1000
        figures = f"{here:>6.2f}  {served:>6.2f}  {clients:>7.2f}  {total:>6.2f}  {total / cores:>11.2f}  {wall:>6.2f}"
        print(f"{label:<5}  {figures}")
    print("(here: this process, the vault's or the agent's side, or B's client; clients: A2's client process;")
    print(" total/cores is the least wall time that much CPU needs here, before any waiting for the disk)")


def report_breakdown(r: Results, n: int, c: int, b_latency: float) -> None:
    seconds, calls = r.meter.seconds, r.meter.calls
    inside = seconds.get("refresh", 0.0) or 1e-9
    wall = r.metered_wall
    print(f"\nwhere A's time goes: one metered run, wall {wall:.3f} s ({wall / n * 1000:.2f} ms/refresh);")
    print(f"thread-seconds summed over {c} workers; share is of the time inside refresh()")
    rows = [(label, calls.get(key, 0), seconds.get(key, 0.0)) for key, label in PARTS]
    rows.append(("rest of refresh()", 0, inside - sum(total for _, _, total in rows)))
    width = max(len(label) for label, _, _ in rows)
    print(f"{'part':<{width}}  {'calls':>5}  {'total s':>7}  {'ms/refresh':>10}  {'share':>6}")
    for label, count, total in rows:
        shown = str(count) if count else ""
        print(f"{label:<{width}}  {shown:>5}  {total:>7.3f}  {total / n * 1000:>10.3f}  {total / inside:>6.1%}")
    print(f"{'refresh() in total':<{width}}  {calls.get('refresh', 0):>5}  {inside:>7.3f}  {inside / n * 1000:>10.3f}")
    scan = seconds.get("credentials", 0.0)
    print(f"outside the pool: credentials() (due and warning scans) {calls.get('credentials', 0)} calls, {scan:.3f} s")
    http = sum(seconds.get(key, 0.0) for key in ("client_init", "token_request", "client_close"))
    print(f"HTTP (client, request, close) is {http / inside:.0%} of refresh(), the vault {1 - http / inside:.0%}")
    request = seconds.get("token_request", 0.0) / n * 1000
    print(f"A's token request {request:.2f} ms vs B's {b_latency:.2f} ms per request")
    print(f"alone (sequential, no other worker): one Vault.save {r.seed_ms:.2f} ms, one Vault.get {r.get_ms:.2f} ms")
    commits = statistics.median(r.commits)
    print(
        f"one durable commit alone costs about {r.seed_ms:.2f} ms; A's saves share commits, {commits:.0f} for {n} "
        f"saves, so {commits * r.seed_ms / 1000:.2f} s of commits under A's wall time "
        f"(median {statistics.median(r.a):.2f} s; B's {statistics.median(r.b):.2f} s)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=500, help="credentials to refresh per run (default 500)")
    parser.add_argument("--repeats", type=int, default=3, help="timed A/B pairs (default 3)")
    parser.add_argument("--concurrency", type=int, default=4, help="refreshes in flight (default 4)")
    parser.add_argument("--server", choices=("process", "thread"), default="process", help="where the server runs")
    args = parser.parse_args(argv)
    if args.count < 1 or args.repeats < 1 or args.concurrency < 1:
        parser.error("--count, --repeats and --concurrency must be at least 1")

    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    scratch = Path(tempfile.mkdtemp(prefix="tokendeck-bench-refresh-"))
    results = Results()
    server: Server | None = None
    try:
        server = ProcessServer() if args.server == "process" else ThreadServer()
        measure(server, scratch / "home", args.count, args.concurrency, args.repeats, results)
    except RuntimeError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            results.server_maxrss_kib = server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    ok = report(results, args.count, args.concurrency, args.repeats, args.server, scratch.parent)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
