"""How long a browser sign-in takes, from ``login`` start to the credential stored.

Run from the repository root::

    .venv/bin/python benchmarks/signin.py [--runs N]

It starts the loopback Authlib test server (``tests/support/authserver/``),
creates a throw-away passphrase vault (keyring-free) and keeps it open for every
run (unlocking is not part of signing in), registers the server as provider
``acme`` by discovery, exactly as ``tokendeck provider add acme --issuer URL``
does, and sets ``$BROWSER`` to the fake browser (``tests/support/fake_browser.py``)
in approve mode.  Each run then calls :func:`vault.services.signin.login` in-process, which
reports its stages:

- listener start: the loopback listener bound, listening and its thread started;
- browser hand-off: the OAuth session (an HTTP client) built, the authorization
  URL made, the browser started and the user's part done until the callback
  arrived.  Python's ``webbrowser`` waits for a ``$BROWSER`` command to exit,
  and the fake browser is a new Python process that does the whole consent
  round trip, so this stage is mostly starting that process;
- code exchange: the token request;
- listener close: stopping the listener's ``serve_forever`` loop;
- identity lookup: the userinfo call, including its HTTP client;
- vault write: the credential built and saved in one transaction;
- rest: the total minus the above (registration lookup, token parsing, the
  final read-back).

``login`` reports listener start, browser hand-off, code exchange and vault
write itself; the rest is timed here by wrapping ``open_session`` (in
``vault.oauth.flows``), ``LoopbackListener.close``, ``learn_identity`` (in
``vault.services.signin``) and the UI's ``open_browser``, all restored afterwards.

As a baseline, interleaved with the sign-ins, it spawns the same interpreter
with ``python -c pass`` (and ``python -c 'import httpx'``, which is what the
fake browser needs before it can do anything): that much of "browser hand-off"
is just starting a browser process.  Milliseconds are this machine's and noisy;
compare the ratios, measured in the same run.

It also checks what ``browser_sign_in`` promises: the listener is accepting
before the browser is opened.  The benchmark's UI connects (TCP) to the port in
the URL's ``redirect_uri`` right before it hands the URL to the browser.  That
proves the socket is listening (a connection would queue in its backlog), not
that the serving thread is already scheduled.

Nothing here asserts a time; it prints.  It exits 1 if a sign-in failed or the
listener was not accepting when the browser was opened.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
import webbrowser
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CLIENT_ID, PASSPHRASE, PROVIDER, parse_runs, register_provider, spawn_ms  # noqa: E402

LOGIN_TIMEOUT = 30.0
"""Seconds a run may wait for the callback before it counts as failed (not 5 minutes)."""
PROBE_TIMEOUT = 1.0

STAGES = ("listener", "browser", "exchange", "listener_close", "identity", "vault_write", "rest")
"""What a sign-in's wall time is split into, in the order things happen."""
LABELS = {
    "listener": "listener start",
    "browser": "browser hand-off",
    "session": "  of which HTTP session setup",
    "open_browser": "  of which webbrowser.open",
    "exchange": "code exchange",
    "listener_close": "listener close",
    "identity": "identity lookup",
    "vault_write": "vault write",
    "rest": "rest (total minus the above)",
    "total": "total (login wall time)",
}
ROWS = tuple(LABELS)
"""The table's rows: the stages, two parts of the hand-off indented under it, the total."""


def listener_accepting(url: str) -> bool:
    """Whether something accepts TCP connections at the authorization URL's ``redirect_uri``."""
    from vault.oauth.loopback import query_params

    redirect = urlsplit(query_params(url).get("redirect_uri", ""))
    if not redirect.hostname or not redirect.port:
        return False
    try:
        with socket.create_connection((redirect.hostname, redirect.port), timeout=PROBE_TIMEOUT):
            return True
    except OSError:
        return False


class BenchSignIn:
    """A silent :class:`~vault.oauth.flows.SignInUI` for the browser flow only.

    ``open_browser`` behaves like ``TerminalSignIn.open_browser`` without the notice,
    after checking that the listener is already accepting; it also times the
    ``webbrowser.open`` call (which waits for the fake browser to finish).
    """

    def __init__(self) -> None:
        self.opened = 0
        self.accepting = 0
        self.open_seconds: list[float] = []

    def show_url(self, url: str) -> None:
        pass

    def open_browser(self, url: str) -> bool:
        if listener_accepting(url):
            self.accepting += 1
        self.opened += 1
        start = time.perf_counter()
        opened = webbrowser.open(url)
        self.open_seconds.append(time.perf_counter() - start)
        return opened

    def ask_redirect(self) -> str:
        raise RuntimeError("the benchmark does not paste redirects")

    def show_device_code(self, code: object) -> None:
        raise RuntimeError("the benchmark does not use the device flow")


class Lap:
    """Times each call of a function (seconds; the last call in ``last``)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.last = 0.0

    def wrapper(self) -> Callable[..., Any]:
        """A plain function calling ``fn`` (so it binds like a method on a class)."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return self.fn(*args, **kwargs)
            finally:
                self.last = time.perf_counter() - start

        return timed


@contextmanager
def substage_laps() -> Iterator[tuple[Lap, Lap, Lap]]:
    """Time what ``login`` does not report: the OAuth session (an HTTP client) built
    inside "browser hand-off", closing the listener, and the identity lookup."""
    import vault.oauth.flows
    import vault.oauth.loopback
    import vault.services.signin

    targets = (
        (vault.oauth.flows, "open_session"),
        (vault.oauth.loopback.LoopbackListener, "close"),
        (vault.services.signin, "learn_identity"),
    )
    laps = [Lap(getattr(owner, name)) for owner, name in targets]
    for (owner, name), lap in zip(targets, laps, strict=True):
        setattr(owner, name, lap.wrapper())
    try:
        yield laps[0], laps[1], laps[2]
    finally:
        for (owner, name), lap in zip(targets, laps, strict=True):
            setattr(owner, name, lap.fn)


def use_fake_browser() -> None:
    """``$BROWSER`` is the fake browser, approving as the server's default user."""
    from tests.support.fake_browser import browser_command

    os.environ["BROWSER"] = browser_command()
    os.environ["FAKE_BROWSER_MODE"] = "approve"
    os.environ["FAKE_BROWSER_TIMEOUT"] = "10"
    for var in ("FAKE_BROWSER_LOG", "FAKE_BROWSER_USER", "FAKE_BROWSER_USER_CODE"):
        os.environ.pop(var, None)
    webbrowser._tryorder = None  # type: ignore[attr-defined] # noqa: SLF001 - $BROWSER is read once per process
    webbrowser._browsers = {}  # type: ignore[attr-defined] # noqa: SLF001


def main(argv: Sequence[str] | None = None) -> int:
    runs = parse_runs(__doc__, argv, default=15, what="sign-ins to time")

    from tests.support.authserver import running_auth_server
    from vault.services.opening import init_vault
    from vault.services.signin import login

    scratch = Path(tempfile.mkdtemp(prefix="tokendeck-bench-signin-"))
    home = scratch / "home"
    os.environ["TOKENDECK_HOME"] = str(home)
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    use_fake_browser()
    baselines = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import httpx'": [sys.executable, "-c", "import httpx"],
    }
    ui = BenchSignIn()
    samples: dict[str, list[float]] = {row: [] for row in ROWS}
    base_samples: dict[str, list[float]] = {name: [] for name in baselines}
    failures: list[str] = []
    try:
        with substage_laps() as (session, close, identity), running_auth_server() as server:
            server.register_client(CLIENT_ID)
            v = init_vault(home, mode="passphrase", passphrase=PASSPHRASE)
            try:
                register_provider(v, server.issuer)
                for run in range(runs + 1):  # run 0 is a warm-up: imports, first connections
                    if run % 2:  # alternate which side goes first, so noise spreads over both
                        spawned = {name: spawn_ms(cmd) for name, cmd in baselines.items()}
                    timings: dict[str, float] = {}
                    start = time.perf_counter()
                    try:
                        credential = login(v, PROVIDER, ui, name=f"run{run}", timeout=LOGIN_TIMEOUT, timings=timings)
                    except Exception as exc:  # noqa: BLE001 - report and carry on
                        failures.append(f"run {run}: {type(exc).__name__}: {exc}")
                        continue
                    total = time.perf_counter() - start
                    if not run % 2:
                        spawned = {name: spawn_ms(cmd) for name, cmd in baselines.items()}
                    if credential.account is None or credential.access_token is None:
                        failures.append(f"run {run}: stored without an account or access token")
                    if not run:
                        continue
                    timings["identity"] = identity.last
                    timings["listener_close"] = close.last
                    timings["rest"] = total - sum(timings[s] for s in STAGES if s != "rest")
                    timings["total"] = total
                    timings["session"] = session.last
                    timings["open_browser"] = ui.open_seconds[-1]
                    for stage, seconds in timings.items():
                        samples[stage].append(seconds * 1000)
                    for name, ms in spawned.items():
                        base_samples[name].append(ms)
                stored = len(v.credentials())
            finally:
                v.close()
            server.assert_no_server_errors()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    timed = len(samples["total"])
    print(f"tokendeck browser sign-in: {runs} timed runs (+1 warm-up) against the loopback Authlib server")
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]}); browser: fake_browser.py, approve")
    print("milliseconds are this machine's and noisy; compare the shares and ratios\n")
    if not timed:
        print("no sign-in completed:\n  " + "\n  ".join(failures))
        return 1
    med = {stage: statistics.median(values) for stage, values in samples.items() if values}
    total = med["total"]
    width = max(len(label) for label in LABELS.values())
    print(f"{'stage':<{width}}  {'median ms':>9}  {'min ms':>7}  {'max ms':>7}  {'share':>6}")
    for row in ROWS:
        values = samples[row]
        share = f"{med[row] / total:>6.0%}" if row != "total" else f"{'':>6}"
        print(f"{LABELS[row]:<{width}}  {med[row]:>9.1f}  {min(values):>7.1f}  {max(values):>7.1f}  {share}")
    print("(shares are of the median total; medians need not add up exactly)")

    floor = statistics.median(base_samples["python -c pass"])
    with_httpx = statistics.median(base_samples["python -c 'import httpx'"])
    print(f"\nbaseline, same interpreter as the fake browser (median of {timed}, interleaved with the sign-ins):")
    print(f"  python -c pass                   {floor:7.1f} ms")
    print(f"  python -c 'import httpx'         {with_httpx:7.1f} ms  (the fake browser's own start-up)")
    print(
        f"browser hand-off / python -c pass: {med['browser'] / floor:.2f}; "
        f"process start is {floor / med['browser']:.0%} of the hand-off "
        f"({with_httpx / med['browser']:.0%} with httpx imported)"
    )
    print(f"total / python -c pass: {total / floor:.2f}")
    own = total - med["browser"]
    print(f"total without the hand-off: {own:.1f} ms ({own / floor:.2f} x python -c pass)")

    print(
        f"\nlistener accepting before the browser was opened: {ui.accepting} of {ui.opened} opens "
        f"({'OK' if ui.accepting == ui.opened else 'FINDING'})"
    )
    print(f"credentials stored: {stored} (runs incl. warm-up: {runs + 1}); failed runs: {len(failures)}")
    for failure in failures:
        print(f"  {failure}")
    return 0 if not failures and ui.accepting == ui.opened == runs + 1 else 1


if __name__ == "__main__":
    sys.exit(main())
