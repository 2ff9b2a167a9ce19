"""``tokendeck scan`` as a process, on a home seeded with 20 copies of the vault's secrets (live
and rotated away, in every form it reads) and 200 decoys of the same shapes that the vault never
held: every copy is found, no decoy is, and nothing it prints or audits holds a secret.  Then
what it skips (a FIFO, a socket, a symlink loop, one out of the tree, a 10 GB sparse file, a
file not the user's, a git repository with a broken object), each named with its reason."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import string
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from vault.core import literals
from vault.core.model import ClientRegistration, Credential
from vault.core.secret import Secret

PASS = "scan test passphrase"
TOKENDECK = os.path.join(os.path.dirname(sys.executable), "tokendeck")
B64 = string.ascii_letters + string.digits + "+/"


def tokendeck(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOKENDECK, *argv], capture_output=True, text=True, env=env, timeout=300, check=False)


def random(prefix: str, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length - len(prefix)))


class Seeds:
    """The vault's secrets by name, and every copy written: (credential, kind, live, form, path, line or git path)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.values: dict[str, str] = {}
        self.expected: set[tuple[str, str, bool, str, str, str]] = set()

    def write(self, relative: str, lines: list[tuple[str, tuple[str, str, bool, str] | None]]) -> None:
        """Append lines to a file under the home; a line's mark is the copy it holds (None: a decoy or filler)."""
        path = self.home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        start = len(path.read_text().splitlines()) if path.exists() else 0
        with path.open("a") as f:
            for number, (text, mark) in enumerate(lines, start=start + 1):
                f.write(text + "\n")
                if mark is not None:
                    self.expected.add((*mark, str(path), str(number)))


VALUES = {
    # name: (kind, current value, previous value or None); '/' and '+' so JSON and URLs escape them
    "gh": ("static token", random("ghp_", 40), random("ghp_", 40)),
    "openai": ("static token", random("sk-proj-", 56), random("sk-proj-", 56)),
    "slack": ("static token", random("xoxb-", 50), random("xoxb-", 50)),
    "acme/access": ("access token", random("at+/", 44, B64), random("at+/", 44, B64)),
    "acme/refresh": ("refresh token", random("rt+/", 48, B64), random("rt+/", 48, B64)),
    "client": ("client secret", random("cs-", 32), random("cs-", 32)),
}


def seed_vault(home: Path) -> None:
    from vault.services.opening import init_vault

    vault = init_vault(home, mode="passphrase", passphrase=PASS, env={})
    with vault:
        records = vault.records
        for name in ("gh", "openai", "slack"):
            _kind, now, old = VALUES[name]
            records.add_static(name, provider="api-key", token=old)
            records.add_static(name, provider="api-key", token=now, replace=True)

        def oauth(access: str, refresh: str) -> Credential:
            at = vault.clock.now()
            return Credential(
                name="acme", provider="github", kind="oauth", access_token=Secret(access),
                refresh_token=Secret(refresh), token_type="Bearer", scopes=(), expires_at=at + 3600,
                created_at=at, updated_at=at,
            )  # fmt: skip

        records.save(oauth(VALUES["acme/access"][2], VALUES["acme/refresh"][2]))
        new = oauth(VALUES["acme/access"][1], VALUES["acme/refresh"][1])
        records.save_refreshed(new, sent_refresh_token=VALUES["acme/refresh"][2], detail="rotated")
        for secret in (VALUES["client"][2], VALUES["client"][1]):
            records.set_client(
                ClientRegistration(provider="acme", base="oidc", client_id="id", client_secret=Secret(secret))
            )


def credential_of(name: str) -> str:
    return "client of acme" if name == "client" else name.split("/")[0]


def git(repo: Path, *argv: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True, env=env)


def seed_files(user_home: Path) -> Seeds:
    """The 20 copies, each beside 10 decoys of its own shape."""
    seeds = Seeds(user_home)

    def value(name: str, live: bool) -> str:
        return VALUES[name][1] if live else str(VALUES[name][2])

    def mark(name: str, live: bool, form: str) -> tuple[str, str, bool, str]:
        return (credential_of(name), VALUES[name][0], live, form)

    def decoy(name: str) -> str:
        now = VALUES[name][1]
        prefix = now[:4]
        return random(prefix, len(now), B64 if "/" in now else string.ascii_letters + string.digits)

    def b64(user: str, token: str) -> str:
        return base64.b64encode(f"{user}:{token}".encode()).decode()

    shapes: list[tuple[str, str, bool, str, Callable[[str], str]]] = [
        # (file, secret, live, form, the line around a value)
        (".bash_history", "gh", True, "raw", lambda v: f"export GITHUB_TOKEN={v}"),
        (".bash_history", "gh", False, "raw", lambda v: f"export GITHUB_TOKEN={v}"),
        (".zsh_history", "openai", True, "raw", lambda v: f": 1700000000:0;export OPENAI_API_KEY={v}"),
        (".local/share/fish/fish_history", "client", False, "raw", lambda v: f"- cmd: export CLIENT_SECRET={v}"),
        ("work/app/.env", "openai", False, "raw", lambda v: f"OPENAI_API_KEY={v}"),
        ("work/app/.env", "slack", True, "raw", lambda v: f'SLACK_TOKEN="{v}"'),
        ("work/app/.env", "client", True, "raw", lambda v: f"CLIENT_SECRET={v}"),
        (".claude/projects/p/s.jsonl", "acme/access", True, "json",
         lambda v: json.dumps({"message": {"content": f"curl -H 'Authorization: Bearer {v}'"}}).replace("/", "\\/")),
        (".claude/projects/p/s.jsonl", "acme/refresh", False, "json",
         lambda v: json.dumps({"tool": f"refresh_token={v}"}).replace("/", "\\/")),
        (".cursor/mcp.json", "gh", True, "raw", lambda v: f'  "headers": {{"Authorization": "Bearer {v}"}},'),
        (".gemini/settings.json", "gh", False, "raw", lambda v: f'  "headers": {{"Authorization": "Bearer {v}"}},'),
        (".netrc", "gh", True, "raw", lambda v: f"machine github.com login me password {v}"),
        (".netrc", "slack", False, "raw", lambda v: f"machine slack.com login me password {v}"),
        ("notes/urls.txt", "acme/access", True, "url", lambda v: f"https://api.example.com/?t={quote(v, safe='')}"),
        ("notes/urls.txt", "acme/access", False, "url", lambda v: f"https://api.example.com/?t={quote(v, safe='')}"),
        (".codex/sessions/s.jsonl", "gh", True, "base64", lambda v: f"Authorization: Basic {b64('x-access-token', v)}"),
        (".codex/sessions/s.jsonl", "slack", False, "base64", lambda v: f"Authorization: Basic {b64('me', v)}"),
        ("notes/remotes.txt", "slack", True, "raw", lambda v: f"url = https://me:{v}@git.example.com/team/repo.git"),
    ]  # fmt: skip
    for path, name, live, form, line in shapes:
        lines: list[tuple[str, tuple[str, str, bool, str] | None]] = [(line(decoy(name)), None) for _ in range(5)]
        lines.append((line(value(name, live)), mark(name, live, form)))
        lines += [(line(decoy(name)), None) for _ in range(5)]
        seeds.write(path, lines)
    # the last two: in a git commit, deleted from the work tree since
    repo = user_home / "code" / "proj"
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    decoys = "\n".join(f"OPENAI_API_KEY={decoy('openai')}" for _ in range(10))
    (repo / "config.env").write_text(f"{decoys}\nOPENAI_API_KEY={value('openai', True)}\n")
    (repo / "old.env").write_text(f"{decoys}\nOPENAI_API_KEY={value('openai', False)}\n")
    git(repo, "add", "config.env", "old.env")
    git(repo, "commit", "-qm", "config")
    git(repo, "rm", "-q", "config.env", "old.env")
    git(repo, "commit", "-qm", "no secrets here")
    seeds.expected.add((*mark("openai", True, "raw"), str(repo), "config.env"))
    seeds.expected.add((*mark("openai", False, "raw"), str(repo), "old.env"))
    return seeds


@pytest.fixture
def seeded(home: Path, tmp_path: Path) -> Iterator[tuple[dict[str, str], Seeds]]:
    seed_vault(home)
    user_home = tmp_path / "user"
    user_home.mkdir()
    seeds = seed_files(user_home)
    env = {**os.environ, "HOME": str(user_home), "TOKENDECK_HOME": str(home), "TOKENDECK_PASSPHRASE": PASS}
    env |= {"TOKENDECK_NO_AGENT": "1", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    yield env, seeds


def found(ran: subprocess.CompletedProcess[str]) -> set[tuple[str, str, bool, str, str, str]]:
    report = json.loads(ran.stdout)
    return {
        (f["credential"], f["kind"], f["live"], f["form"], f["path"], f.get("object_path") or str(f["line"]))
        for f in report["findings"]
    }


def no_secret_in(*texts: str) -> None:
    for name, (_kind, now, old) in VALUES.items():
        for value in (now, old):
            assert all(value not in text for text in texts), f"a value of {name} was shown"


def test_every_seeded_copy_is_found_and_no_decoy(seeded: tuple[dict[str, str], Seeds]) -> None:
    env, seeds = seeded
    assert len(seeds.expected) == 20
    ran = tokendeck(env, "scan", "--json", env["HOME"])
    assert ran.returncode == 9, ran.stderr
    assert found(ran) == seeds.expected
    report = json.loads(ran.stdout)
    assert (report["files"], report["git_objects"]) == (
        12,
        6,
    )  # the repository's .git/config; 2 blobs, 2 trees, 2 commits
    assert (report["live"], report["old"]) == (11, 9)
    assert report["places"] == 1  # what searched: tokendeck's own search where it was built (a C compiler at install)
    assert report["engine"].startswith("sampled" if literals.available() else "hyperscan"), report["engine"]
    text = tokendeck(env, "scan", env["HOME"])
    assert text.returncode == 9
    assert "/.netrc:6: gh static token (LIVE, raw)" in text.stdout
    assert "(git object " in text.stdout and " old.env): openai static token (old, raw)" in text.stdout
    assert "11 live and 9 old copies" in text.stderr
    audit = tokendeck(env, "audit", "--json")
    scans = [e for e in json.loads(audit.stdout) if e["action"] == "scan"]
    assert [(e["outcome"], e["detail"]) for e in scans][-1] == ("found", "places=1 files=18 findings=20 live=11")
    no_secret_in(ran.stdout, ran.stderr, text.stdout, text.stderr, audit.stdout, audit.stderr)


def test_with_no_path_it_reads_the_usual_places(seeded: tuple[dict[str, str], Seeds]) -> None:
    env, seeds = seeded
    ran = tokendeck(env, "scan", "--json")
    usual = {f for f in seeds.expected if "/notes/" not in f[4] and "/code/" not in f[4]}
    assert found(ran) == usual and len(usual) == 15
    no_secret_in(ran.stdout, ran.stderr)


def test_nothing_found_is_0_only_old_copies_is_8(seeded: tuple[dict[str, str], Seeds], tmp_path: Path) -> None:
    env, _seeds = seeded
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text(f"token={random('ghp_', 40)}\n")
    assert tokendeck(env, "scan", str(clean)).returncode == 0
    (clean / "b.txt").write_text(f"token={VALUES['gh'][2]}\n")
    ran = tokendeck(env, "scan", str(clean))
    assert ran.returncode == 8 and "b.txt:1: gh static token (old, raw)" in ran.stdout
    missing = tokendeck(env, "scan", str(clean / "nope"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_a_locked_vault_is_one_line(seeded: tuple[dict[str, str], Seeds]) -> None:
    env, _seeds = seeded
    ran = tokendeck({**env, "TOKENDECK_PASSPHRASE": "wrong"}, "scan", env["HOME"])
    assert ran.returncode == 3 and ran.stdout == "" and ran.stderr.count("\n") == 1, ran.stderr


def test_what_it_skips_is_named_with_its_reason_and_the_rest_is_scanned(
    seeded: tuple[dict[str, str], Seeds], tmp_path: Path
) -> None:
    env, _seeds = seeded
    tree = tmp_path / "tree"
    tree.mkdir()
    os.mkfifo(tree / "fifo")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tree / "sock"))
    (tree / "loop").symlink_to(".")
    (tree / "self").symlink_to("self")
    (tree / "out").symlink_to(tmp_path / "user")
    with (tree / "huge.log").open("wb") as f:
        f.truncate(10 * 1024**3)  # 10 GB, sparse
    (tree / "found.txt").write_text(f"{VALUES['slack'][1]}\n")
    (tree / "b-real").mkdir()
    (tree / "b-real" / "inner.txt").write_text(f"{VALUES['slack'][1]}\n")
    (tree / "a-link").symlink_to("b-real")  # a sibling link, walked before its target: no loop, read once
    broken = tree / "broken"
    broken.mkdir()
    git(broken, "init", "-q")
    (broken / "a.txt").write_text("hello\n")
    git(broken, "add", "a.txt")
    git(broken, "commit", "-qm", "a")
    for loose in (broken / ".git" / "objects").glob("??/*"):
        loose.chmod(0o644)
        loose.write_bytes(b"not a zlib stream")
        break
    if os.getuid() == 0:
        (tree / "theirs.txt").write_text(f"{VALUES['gh'][1]}\n")
        os.chown(tree / "theirs.txt", 65534, 65534)
    try:
        ran = tokendeck(env, "scan", "--json", str(tree))
    finally:
        listener.close()
    assert ran.returncode == 9, ran.stderr
    report = json.loads(ran.stdout)
    assert [(Path(f["path"]).name, f["credential"]) for f in report["findings"]] == [
        ("inner.txt", "slack"),
        ("found.txt", "slack"),
    ], report["findings"]
    assert report["findings"][0]["path"] == str(tree / "b-real" / "inner.txt")
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert "a-link" not in reasons and "b-real" not in reasons, reasons  # it said "a symlink loop" of b-real
    assert reasons["fifo"] == "a named pipe (FIFO)"
    assert reasons["sock"] == "a socket"
    assert reasons["loop"].startswith("a symlink loop") and reasons["self"].startswith("a symlink loop")
    assert reasons["out"] == "a symlink out of the scanned tree (not followed)"
    assert reasons["huge.log"].startswith("larger than the 64 MB limit (10240 MB")
    assert reasons[".git"].startswith("a git repository git could not read whole")
    if os.getuid() == 0:
        assert reasons["theirs.txt"] == "not yours (owned by another user)"
    no_secret_in(ran.stdout, ran.stderr)


def test_unreadable_files_are_counted_and_summarised_never_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vault.cli import scan as scan_cli
    from vault.services.scan_match import Matcher
    from vault.services.scanning import Scan

    tree = tmp_path / "t"
    tree.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (tree / name).write_text("ghp_0123456789abcdef0123456789abcdef0123\n")
    real_open = os.open

    def refusing(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith(("a.txt", "b.txt")):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing)
    matcher = Matcher([("gh", "static token", "ghp_0123456789abcdef0123456789abcdef0123")], b"k" * 32, [])
    outcome = Scan(matcher).run([tree])
    assert len(outcome.unreadable) == 2 and [Path(f.path).name for f in outcome.findings] == ["c.txt"]
    scan_cli._print(outcome, [tree], as_json=False, engine=matcher.engine)  # noqa: SLF001 - what it prints
    err = capsys.readouterr().err
    assert "2 files or folders could not be read (Permission denied)" in err


def test_through_the_agent_the_findings_and_the_audit_are_the_same(seeded: tuple[dict[str, str], Seeds]) -> None:
    """With an agent holding the vault, it hands the command what to look for: no passphrase is
    needed, and the findings are the same."""
    env, seeds = seeded
    with_agent = {k: v for k, v in env.items() if k != "TOKENDECK_NO_AGENT"}
    assert tokendeck(with_agent, "agent", "start").returncode == 0
    try:
        unasked = {k: v for k, v in with_agent.items() if k != "TOKENDECK_PASSPHRASE"}
        ran = tokendeck(unasked, "scan", "--json", env["HOME"])
        assert ran.returncode == 9, ran.stderr
        assert found(ran) == seeds.expected
        audit = tokendeck(unasked, "audit", "--json")
        assert [e["detail"] for e in json.loads(audit.stdout) if e["action"] == "scan"] == [
            "places=1 files=18 findings=20 live=11"
        ]
        no_secret_in(ran.stdout, ran.stderr, audit.stdout)
    finally:
        tokendeck(with_agent, "agent", "stop")


WORKERS = {
    "threads": [],  # no previous value: threads over the C side's reading (processes where it was not built)
    "processes": [("old", "static token", 40, b"\0" * 32)],  # a previous value: forked processes
}


@pytest.mark.parametrize("previous", WORKERS.values(), ids=WORKERS.keys())
def test_workers_find_what_one_reader_finds(
    previous: list[tuple[str, str, int, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault.services import scanning
    from vault.services.scan_match import Matcher

    tree = tmp_path / "t"
    value = random("ghp_", 40)
    for n in range(40):
        folder = tree / f"d{n % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{n}.txt").write_text(f"x\n{'token=' + value if n % 4 == 0 else random('ghp_', 40)}\n")
    os.mkfifo(tree / "fifo")
    (tree / "d0" / "blob.bin").write_bytes(b"\0ELF" + f"token={value}".encode())  # a binary: skipped, counted
    matcher = Matcher([("gh", "static token", value)], b"k" * 32, previous)
    assert matcher.reads_files == (not previous and literals.available())
    alone = scanning.Scan(matcher).run([tree])
    monkeypatch.setattr(scanning, "BATCH_FILES", 3)
    together = scanning.Scan(matcher, jobs=2).run([tree])
    assert len(alone.findings) == 10 and together.findings == alone.findings
    assert (
        (together.files, together.binaries, together.skipped)
        == (alone.files, alone.binaries, alone.skipped)
        == (40, 1, [(str(tree / "fifo"), "a named pipe (FIFO)")])
    )


@pytest.mark.parametrize("previous", WORKERS.values(), ids=WORKERS.keys())
def test_ctrl_c_with_workers_reports_every_file_they_read_before_it(
    previous: list[tuple[str, str, int, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl+C once the walk is done and every batch read: all of them are reported (their
    results were dropped: "so far" said 0 files)."""
    from concurrent.futures import wait

    from vault.services import scanning
    from vault.services.scan_match import Matcher

    value = random("ghp_", 40)
    for n in range(12):
        (tmp_path / f"f{n}.txt").write_text(f"line\ntoken={value}\n")
    monkeypatch.setattr(scanning, "BATCH_FILES", 2)

    def pressed(scan: scanning.Scan) -> None:
        wait(scan._running)  # every batch read by a worker
        raise KeyboardInterrupt

    monkeypatch.setattr(scanning.Scan, "_finish", pressed)
    matcher = Matcher([("gh", "static token", value)], b"k" * 32, previous)
    outcome = scanning.Scan(matcher, jobs=2).run([tmp_path])
    assert outcome.interrupted
    assert (outcome.files, len(outcome.findings)) == (12, 12)


def test_a_git_object_over_the_size_limit_is_skipped_with_its_reason_and_the_rest_read(tmp_path: Path) -> None:
    from vault.services.scan_match import Matcher
    from vault.services.scanning import Scan

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    value = random("ghp_", 40)
    (repo / "big.log").write_text("x" * (2 << 20) + "\n")
    (repo / "small.env").write_text(f"TOKEN={value}\n")
    git(repo, "add", "big.log", "small.env")
    git(repo, "commit", "-qm", "both")
    matcher = Matcher([("gh", "static token", value)], b"k" * 32, [])
    outcome = Scan(matcher, max_size=1 << 20).run([repo])
    assert {(f.object_path, f.line) for f in outcome.findings} == {("small.env", 1), ("", 1)}  # the blob, the file
    git_skips = [(p, why) for p, why in outcome.skipped if "(git object " in p]
    assert len(git_skips) == 1 and git_skips[0][0].endswith(" big.log)")
    assert git_skips[0][1] == "larger than the 1 MB limit (--max-size)"


def test_ctrl_c_prints_what_was_found_so_far_exits_130_and_audits_it(
    seeded: tuple[dict[str, str], Seeds], tmp_path: Path
) -> None:
    """Ctrl+C while the scan is inside a git repository (a ``git`` on PATH that waits there, so the
    moment is certain): the copy found before it is printed, the summary says it was interrupted,
    the exit code is 130, and the audit row says ``interrupted``."""
    import signal
    import time

    env, _seeds = seeded
    tree = tmp_path / "tree"
    (tree / "repo" / ".git").mkdir(parents=True)
    (tree / "a.txt").write_text(f"token={VALUES['gh'][1]}\n")  # read first: "a.txt" sorts before "repo"
    started = tmp_path / "git-started"
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\ntouch {started}\nexec sleep 60\n")
    fake.chmod(0o755)
    waiting = env | {"PATH": f"{fake.parent}{os.pathsep}{env['PATH']}"}
    scan = subprocess.Popen(  # --jobs 1: files are read as the walk meets them, not batched for workers
        [TOKENDECK, "scan", "--jobs", "1", str(tree)], env=waiting, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not started.exists() and scan.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    scan.send_signal(signal.SIGINT)
    out, err = scan.communicate(timeout=60)
    assert scan.returncode == 130, err
    assert f"{tree / 'a.txt'}:1: gh static token (LIVE, raw)" in out
    last = err.splitlines()[-1]
    assert last.startswith("tokendeck: interrupted: 1 live and 0 old copies in 1 file and ") and last.endswith(
        " so far"
    )
    audit = json.loads(tokendeck(env, "audit", "--json").stdout)
    assert [e["outcome"] for e in audit if e["action"] == "scan"][-1] == "interrupted"
    no_secret_in(out, err)


def test_a_token_in_a_repositorys_git_config_is_found(seeded: tuple[dict[str, str], Seeds], tmp_path: Path) -> None:
    """``git clone https://TOKEN@host/...`` keeps the token in ``.git/config``'s remote URL, and a
    CI checkout's ``http.extraheader`` holds one as base64: the folder's scan reads that file too
    (before, only the repository's objects were read, and none of these was found)."""
    env, _seeds = seeded
    repo = tmp_path / "work" / "app"
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    git(repo, "remote", "add", "origin", f"https://{VALUES['gh'][1]}@github.com/alice/app.git")
    git(repo, "remote", "add", "old", f"https://{VALUES['gh'][2]}@github.com/alice/app.git")
    header = base64.b64encode(f"x-access-token:{VALUES['slack'][1]}".encode()).decode()
    git(repo, "config", "http.https://github.com/.extraheader", f"AUTHORIZATION: basic {header}")
    ran = tokendeck(env, "scan", "--json", str(tmp_path / "work"))
    assert ran.returncode == 9, ran.stderr
    config = str(repo / ".git" / "config")
    got = {(f["credential"], f["live"], f["form"]) for f in json.loads(ran.stdout)["findings"] if f["path"] == config}
    assert got == {("gh", True, "raw"), ("gh", False, "raw"), ("slack", True, "base64")}
    no_secret_in(ran.stdout, ran.stderr)


def test_folders_are_walked_in_name_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """So a scan stopped early (Ctrl+C) has read the first folders by name, as a listing shows
    them (it walked the last ones first)."""
    from vault.services import scanning
    from vault.services.scan_match import Matcher

    for folder in ("b", "a", "c/y", "c/x"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "f.txt").write_text("nothing\n")
    (tmp_path / "top.txt").write_text("nothing\n")
    from vault.services import scan_files

    read: list[str] = []
    real = scan_files.scan_file

    def reading(matcher: Matcher, path: str, *rest: int) -> scan_files.FileResult:
        read.append(path)
        return real(matcher, path, *rest)

    monkeypatch.setattr(scanning, "scan_file", reading)
    scanning.Scan(Matcher([("gh", "static token", random("ghp_", 40))], b"k" * 32, [])).run([tmp_path])
    assert [os.path.relpath(p, tmp_path) for p in read] == ["top.txt", "a/f.txt", "b/f.txt", "c/x/f.txt", "c/y/f.txt"]
