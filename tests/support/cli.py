"""Run the real ``tokendeck`` CLI in-process, with a given stdin and terminal-ness (and no
controlling terminal, whatever the test process has: ``tty`` alone says whether anyone answers)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from vault.cli import main
from vault.cli import terminal as commands


class FakeStdin(io.TextIOWrapper):
    """Standard input made of fixed bytes, claiming (or not) to be a terminal."""

    def __init__(self, data: bytes, tty: bool) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@dataclass
class Result:
    code: int
    out: str
    err: str


class CliRunner:
    """Calls ``vault.cli.main`` like a shell would, capturing stdout and stderr."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(
        self,
        *argv: str,
        stdin: bytes | str = b"",
        tty: bool = False,
        answers: Iterable[str] = (),
        stdout_tty: bool = False,
    ) -> Result:
        """Run ``tokendeck ARGV``.

        Args:
            stdin: what is piped in.
            tty: whether stdin is a terminal (then ``answers`` feed the hidden prompts).
            answers: replies to hidden prompts and ``input()`` questions, in order.
            stdout_tty: whether stdout claims to be a terminal (human times).
        """
        data = stdin.encode() if isinstance(stdin, str) else stdin
        replies = iter(answers)
        self.monkeypatch.setattr("sys.stdin", FakeStdin(data, tty))
        self.monkeypatch.setattr(commands, "ask_hidden", lambda prompt: next(replies))
        self.monkeypatch.setattr(commands, "ask_line", lambda prompt: next(replies))
        self.monkeypatch.setattr(commands, "controlling_terminal", lambda: False)  # never the developer's terminal
        self.monkeypatch.setattr("builtins.input", lambda prompt="": next(replies))
        self.monkeypatch.setattr(commands, "human_times", lambda: stdout_tty)
        self.capsys.readouterr()
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)
