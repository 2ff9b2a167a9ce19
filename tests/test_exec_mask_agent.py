"""``tokendeck exec`` masks its command's output with the agent running too: on the agent's fast
path (tokens from the agent, before argparse) and as a session (``--session``, whose root is then
``tokendeck exec`` itself, the command's parent).  Real processes and a real agent: the vault and
the agent are :mod:`tests.test_sessions`'s."""

from __future__ import annotations

from tests import test_sessions
from tests.test_agent_cli import TOKENDECK, tokendeck
from tests.test_sessions import A_TOKEN
from vault.core.redact import MARKER

env = test_sessions.env  # the fixture: a passphrase vault holding a and b, its agent running

MARK = MARKER.decode()


def test_through_the_agent_the_token_is_masked(env: dict[str, str]) -> None:
    done = tokendeck(env, "exec", "-e", "A=a", "--", "sh", "-c", 'echo "A=$A"; echo "$A" >&2')
    assert (done.returncode, done.stdout, done.stderr) == (0, f"A={MARK}\n", f"{MARK}\n")
    plain = tokendeck(env, "exec", "--no-mask", "-e", "A=a", "--", "sh", "-c", 'echo "A=$A"')
    assert (plain.returncode, plain.stdout) == (0, f"A={A_TOKEN}\n")


def test_a_session_is_masked_and_its_reads_still_work(env: dict[str, str]) -> None:
    script = f'echo "A=$A"; {TOKENDECK} token a; {TOKENDECK} token b; echo "b: $?"'
    done = tokendeck(env, "exec", "--session", "-e", "A=a", "--", "sh", "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"A={MARK}\n{MARK}\nb: 5\n"  # the session's own read of a, masked too
    assert "b was not given to session " in done.stderr and A_TOKEN not in done.stderr
    plain = tokendeck(env, "exec", "--session", "--no-mask", "-e", "A=a", "--", TOKENDECK, "token", "a")
    assert (plain.returncode, plain.stdout) == (0, f"{A_TOKEN}\n")
