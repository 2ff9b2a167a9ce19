"""Scrubbing leaked tokens out of shell history files (issue 37): whole entries go, in each
shell's format; everything else stays byte for byte; a file that changed meanwhile is refused
and left as it was.  Real files in a temporary directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vault.errors import InvalidInput, VaultError
from vault.services.scrub import history_format, plan_scrub

LEAK = "ghp_scrubLeaked0000000000000000000000001"  # noqa: S105 - a test value


def lines_with(text: str, needle: str) -> list[int]:
    return [i for i, line in enumerate(text.split("\n"), 1) if needle in line]


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_bash_with_timestamps_loses_the_command_and_its_stamp_only(tmp_path: Path) -> None:
    text = f"#1700000000\nls\n#1700000001\nexport GITHUB_TOKEN={LEAK}\n#1700000002\ngit push\n"
    path = write(tmp_path / ".bash_history", text)
    plan = plan_scrub(path, lines_with(text, LEAK))
    assert (plan.fmt, plan.removed) == ("bash", 1)
    plan.write()
    assert path.read_text() == "#1700000000\nls\n#1700000002\ngit push\n"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_bash_without_timestamps_and_a_file_without_a_final_newline(tmp_path: Path) -> None:
    text = f"ls\ncurl -H 'Authorization: Bearer {LEAK}' https://api.github.com/user\nexit"
    path = write(tmp_path / ".bash_history", text, 0o640)
    plan_scrub(path, lines_with(text, LEAK)).write()
    assert path.read_text() == "ls\nexit"
    assert oct(path.stat().st_mode & 0o777) == "0o640"  # its mode, as it was


def test_zsh_extended_history_loses_a_multi_line_entry_whole(tmp_path: Path) -> None:
    text = (
        ": 1700000000:0;ls\n"
        f": 1700000001:0;curl -sS \\\n  -H 'Authorization: Bearer {LEAK}' \\\n  https://api.github.com/user\n"
        ": 1700000002:0;echo done\n"
    )
    path = write(tmp_path / ".zsh_history", text)
    plan = plan_scrub(path, lines_with(text, LEAK))  # the entry's second line holds it
    assert (plan.fmt, plan.removed) == ("zsh", 1)
    plan.write()
    assert path.read_text() == ": 1700000000:0;ls\n: 1700000002:0;echo done\n"


def test_fish_history_loses_the_entry_and_its_indented_lines(tmp_path: Path) -> None:
    folder = tmp_path / ".local" / "share" / "fish"
    folder.mkdir(parents=True)
    text = (
        "- cmd: ls\n  when: 1700000000\n"
        f"- cmd: set -x GITHUB_TOKEN {LEAK}\n  when: 1700000001\n  paths:\n    - /tmp\n"
        "- cmd: git push\n  when: 1700000002\n"
    )
    path = write(folder / "fish_history", text)
    plan = plan_scrub(path, lines_with(text, LEAK))
    assert (plan.fmt, plan.removed) == ("fish", 1)
    plan.write()
    assert path.read_text() == "- cmd: ls\n  when: 1700000000\n- cmd: git push\n  when: 1700000002\n"


def test_the_format_is_told_by_content_when_the_name_says_nothing(tmp_path: Path) -> None:
    assert history_format(tmp_path / "hist", ": 1700000000:0;ls\n") == "zsh"
    assert history_format(tmp_path / "hist", "- cmd: ls\n  when: 1\n") == "fish"
    assert history_format(tmp_path / "hist", "ls\n") == "bash"


def test_a_file_a_shell_appended_to_meanwhile_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    text = f"ls\nexport GITHUB_TOKEN={LEAK}\n"
    path = write(tmp_path / ".bash_history", text)
    plan = plan_scrub(path, [2])
    with path.open("a") as shell:
        shell.write("git status\n")
    with pytest.raises(VaultError, match="changed while tokendeck was writing it; nothing was written"):
        plan.write()
    assert path.read_text() == text + "git status\n"
    assert [p.name for p in tmp_path.iterdir()] == [".bash_history"]  # no temp file left behind


def test_a_line_beyond_the_end_means_the_file_changed_since_the_scan(tmp_path: Path) -> None:
    path = write(tmp_path / ".bash_history", "ls\n")
    with pytest.raises(InvalidInput, match="changed since the scan") as raised:
        plan_scrub(path, [5])
    assert LEAK not in str(raised.value)
    assert path.read_text() == "ls\n"


def test_a_symlink_and_a_file_that_is_not_text_are_refused_untouched(tmp_path: Path) -> None:
    real = write(tmp_path / "real_history", f"export T={LEAK}\n")
    link = tmp_path / ".bash_history"
    link.symlink_to(real)
    with pytest.raises(InvalidInput, match="symbolic link"):
        plan_scrub(link, [1])
    binary = tmp_path / ".zsh_history"
    binary.write_bytes(b": 1:0;echo \x83\xff\n: 2:0;export T=" + LEAK.encode() + b"\n")
    with pytest.raises(InvalidInput, match="not UTF-8 text; not changed"):
        plan_scrub(binary, [2])
    assert real.read_text() == f"export T={LEAK}\n" and os.path.islink(link)
