"""Real clients through the real `tokendeck proxy run` (issue 35's "Must show").

curl, git (clone and push), gh, Python requests and httpx run as the command of `tokendeck proxy
run --allow gh`, against loopback HTTPS stand-ins for GitHub's hosts that answer only the real
token.  Each test checks that the stand-in got the real token, that the command's environment and
output held only the placeholder, and that tokendeck itself printed no token.  The stand-ins'
certificates come from a test CA the proxy is told to trust (`TOKENDECK_PROXY_UPSTREAM_CA`); the
command trusts only what the run's environment gives it.  Node's fetch is in test_proxy_node.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.proxy_clients import TOKEN, TOKENDECK, Stage, make_vault, stage, vault_env
from tests.support.proxy_servers import carries, make_ca, serve
from tests.support.system import unavailable


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_vault(tmp_path_factory.mktemp("proxy-clients") / "home")


@pytest.fixture
def world(tmp_path: Path, template: Path) -> Iterator[Stage]:
    started = stage(tmp_path, template)
    try:
        yield started
    finally:
        started.stop()


def got_the_token(world: Stage) -> list[tuple[str, str]]:
    """(method, path) of each request the GitHub stand-in got with the real token."""
    return [(method, path) for method, path, got in world.github.seen if carries(got.get("authorization"), TOKEN)]


def test_curl_sends_the_placeholder_and_the_server_gets_the_token(world: Stage) -> None:
    done = world.run('curl -sS -v -H "Authorization: Bearer $GITHUB_TOKEN" https://api.github.com/user')

    assert done.code == 0, done.err + done.output
    assert world.github.seen == [("GET", "/user", {"authorization": f"Bearer {TOKEN}"})]
    assert '"login": "octocat"' in done.output
    assert f"Authorization: Bearer {done.placeholder}" in done.output  # curl -v shows what it sent
    done.assert_only_placeholders()
    (row,) = world.audit("proxy")  # the reader is the program that made the request, found by its socket
    assert re.search(r" reader=curl -sS -v -H .* \(pid \d+\) command=agent run=[0-9a-f]{8}$", row[2]), row[2]
    runs = subprocess.run(
        [TOKENDECK, "proxy", "runs", "--json"], env=vault_env(world.home), capture_output=True, text=True, check=True
    )
    assert json.loads(runs.stdout)[0]["substituted"] == 1, runs.stdout  # run=ID stays last: the run counts it


HELPER = "!f() { echo username=x-access-token; echo password=$GITHUB_TOKEN; }; f"
"""git's credential: the placeholder as the password (what `gh auth setup-git` and CI scripts do)."""


def test_git_clone_and_push_over_https_with_the_placeholder_as_password(world: Stage) -> None:
    script = f"""set -e
git config --global credential.helper '{HELPER}'
git config --global user.name Octo
git config --global user.email octo@example.test
git clone https://github.com/octo/repo.git clone
cd clone
echo more >> README
git commit -q -am second
git push origin main
"""
    done = world.run(script)

    assert done.code == 0, done.err + done.output
    assert ("GET", "/octo/repo.git/info/refs?service=git-upload-pack") in got_the_token(world)
    assert ("POST", "/octo/repo.git/git-receive-pack") in got_the_token(world)
    pushed = subprocess.run(["git", "--git-dir", str(world.repository), "log", "-1", "--format=%s", "main"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert pushed.stdout.strip() == "second"
    assert "main -> main" in done.output
    done.assert_only_placeholders()


def test_gh_api_user_with_gh_token_the_placeholder(world: Stage) -> None:
    if shutil.which("gh") is None:
        unavailable("gh (GitHub's CLI) is not installed")
    done = world.run("gh api user", GH_HOST="github.com")

    assert done.code == 0, done.err + done.output
    assert got_the_token(world) == [("GET", "/user")]
    assert '"login":"octocat"' in done.output.replace(" ", "")
    done.assert_only_placeholders()


PYTHON_CLIENT = """
import os, sys
headers = {{"Authorization": "token " + os.environ["GITHUB_TOKEN"]}}
{call}
print(answer.status_code, answer.text)
print("sent:", headers["Authorization"])
"""


@pytest.mark.parametrize(
    "call",
    [
        "import requests\nanswer = requests.get('https://api.github.com/user', headers=headers, timeout=30)",
        "import httpx\nanswer = httpx.get('https://api.github.com/user', headers=headers, timeout=30)",
    ],
    ids=["requests", "httpx"],
)
def test_python_clients_with_the_runs_environment(world: Stage, call: str) -> None:
    script = world.tmp / "client.py"
    script.write_text(PYTHON_CLIENT.format(call=call))
    done = world.run(f'"{sys.executable}" "{script}"')

    assert done.code == 0, done.err + done.output
    assert world.github.seen == [("GET", "/user", {"authorization": f"token {TOKEN}"})]
    assert done.output.startswith("200 ")
    assert f"sent: token {done.placeholder}" in done.output
    done.assert_only_placeholders()


def test_the_placeholder_to_a_host_outside_the_allow_list_reaches_no_server_and_is_audited(world: Stage) -> None:
    done = world.run(
        'curl -sS -w "\\n%{http_code}" -H "Authorization: Bearer $GITHUB_TOKEN" "https://elsewhere.test/collect?q=1"'
    )

    assert done.output.splitlines()[-1] == "403"
    assert "gh's token is not allowed for elsewhere.test" in done.output
    assert world.elsewhere.seen == []
    assert world.github.seen == []
    done.assert_only_placeholders()
    (row,) = world.audit("proxy")
    assert row[:2] == ("gh", "refused")
    assert re.fullmatch(
        r"host=elsewhere\.test method=GET path=/collect reader=curl -sS .* \(pid \d+\) command=agent run=[0-9a-f]{8}",
        row[2],
    ), row[2]


def test_the_placeholder_over_plain_http_to_an_allowed_host_is_refused(world: Stage) -> None:
    plain = serve(None, ["api.github.com"])  # were it forwarded, this is where it would arrive
    world.extra_resolve["api.github.com"] = plain.port
    try:
        done = world.run(
            'curl -sS -w "\\n%{http_code}" -H "Authorization: Bearer $GITHUB_TOKEN" http://api.github.com/user'
        )
    finally:
        plain.stop()

    assert done.output.splitlines()[-1] == "403"
    assert "gh's token is never sent over plain http" in done.output
    assert plain.seen == []
    done.assert_only_placeholders()
    (row,) = world.audit("proxy")
    assert row[:2] == ("gh", "refused") and row[2].startswith("host=api.github.com method=GET path=/user ")


def test_hosts_outside_every_allow_list_pass_through_untouched_over_http_and_https(world: Stage) -> None:
    plain = serve(None, ["plain.test"])
    world.extra_resolve["plain.test"] = plain.port
    try:
        done = world.run(
            'curl -sS -H "Authorization: Bearer someone-elses" http://plain.test/a -: '
            '-H "Authorization: Bearer someone-elses" https://elsewhere.test/b'
        )
    finally:
        plain.stop()

    assert done.code == 0, done.err + done.output
    assert plain.seen == [("GET", "/a", {"authorization": "Bearer someone-elses"})]
    assert world.elsewhere.seen == [("GET", "/b", {"authorization": "Bearer someone-elses"})]
    assert done.output.count('"login": "octocat"') == 2
    assert world.audit("proxy") == []


PROBE = """
import base64, os, socket, ssl, urllib.parse
from cryptography import x509
proxy = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
auth = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode()
raw = socket.create_connection((proxy.hostname, proxy.port), timeout=30)
raw.sendall(f"CONNECT untrusted.test:443 HTTP/1.1\\r\\nProxy-Authorization: Basic {auth}\\r\\n\\r\\n".encode())
head = b""
while b"\\r\\n\\r\\n" not in head and (byte := raw.recv(1)):
    head += byte
print("connect:", head.split(b"\\r\\n")[0].decode())
if not head.startswith(b"HTTP/1.1 200"):
    rest = b""
    while chunk := raw.recv(4096):
        rest += chunk
    print("body:", rest.decode(errors="replace").strip())
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE  # take any certificate, to see whose it is
try:
    tls = context.wrap_socket(raw, server_hostname="untrusted.test")
except OSError as exc:
    print("handshake: failed")
else:
    print("issuer:", x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).issuer.rfc4514_string())
"""


def test_an_upstream_certificate_the_proxy_does_not_trust_fails_and_the_client_gets_no_certificate_of_ours(
    world: Stage,
) -> None:
    untrusted = serve(make_ca("some other CA"), ["untrusted.test"])
    world.extra_resolve["untrusted.test"] = untrusted.port
    probe = world.tmp / "probe.py"
    probe.write_text(PROBE)
    try:
        done = world.run(f'curl -sS https://untrusted.test/x; echo "curl: $?"; "{sys.executable}" "{probe}"')
    finally:
        untrusted.stop()

    assert "curl: 0" not in done.output and "curl: " in done.output
    assert "handshake: failed" in done.output, done.output
    assert "issuer:" not in done.output  # a tokendeck-signed certificate here would vouch for a server never checked
    assert untrusted.seen == []


def test_a_client_asking_for_an_upstream_whose_certificate_fails_is_told_why(world: Stage) -> None:
    untrusted = serve(make_ca("some other CA"), ["untrusted.test"])
    world.extra_resolve["untrusted.test"] = untrusted.port
    probe = world.tmp / "probe.py"
    probe.write_text(PROBE)
    client = world.tmp / "client.py"
    client.write_text("import requests\ntry:\n    requests.get('https://untrusted.test/x', timeout=30)\n"
                      "except requests.exceptions.ProxyError as exc:\n    print('requests:', exc)\n")  # fmt: skip
    try:
        done = world.run(f'"{sys.executable}" "{probe}"; "{sys.executable}" "{client}"')
    finally:
        untrusted.stop()

    why = "tokendeck proxy: TLS to untrusted.test failed or its certificate could not be verified; nothing was sent"
    assert "connect: HTTP/1.1 502 Upstream TLS not verified" in done.output.splitlines(), done.output
    assert f"body: {why}" in done.output.splitlines()
    assert "502 Upstream TLS not verified" in done.output.split("requests:", 1)[1]
    assert "handshake: failed" in done.output
    assert untrusted.seen == []


def test_without_an_agent_the_commands_own_tokendeck_is_refused_and_asks_nothing(world: Stage) -> None:
    """No agent, so no session: the run still points the command's tokendeck at a socket nobody
    answers, so `tokendeck token` inside is refused in one line instead of opening the vault (on a
    terminal it would have asked for the passphrase, in a prompt that looks like tokendeck's own)."""
    done = world.run(f"{TOKENDECK} token gh; echo rc=$?")
    assert done.code == 0, done.err
    lines = done.output.splitlines()
    assert lines[-1] == "rc=3" and len(lines) == 2, done.output
    assert "is not answering" in lines[0] and TOKEN not in done.output
    done.assert_only_placeholders()
