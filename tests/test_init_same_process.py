"""Two inits of one vault in one process (the TUI's first-run screen, Enter pressed twice while
the key is derived): the second is refused, and never clears the files the first is making."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from vault.core.keys import VaultMeta
from vault.errors import AlreadyExists
from vault.services.opening import init_vault, open_vault


def test_a_second_init_in_this_process_does_not_clear_the_first(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made, second = threading.Event(), threading.Event()
    results: list[object] = []
    write = VaultMeta.write

    def slow_write(self: VaultMeta, path: Path) -> None:  # the first init, half done
        made.set()
        second.wait(30)
        write(self, path)

    monkeypatch.setattr(VaultMeta, "write", slow_write)

    def first() -> None:
        results.append(init_vault(home, mode="passphrase", passphrase="the first one"))

    thread = threading.Thread(target=first)
    thread.start()
    assert made.wait(30)
    monkeypatch.setattr(VaultMeta, "write", write)
    try:
        with pytest.raises(AlreadyExists):
            init_vault(home, mode="passphrase", passphrase="the second one")
    finally:
        second.set()
        thread.join(30)
    vault = results[0]
    vault.close()  # type: ignore[attr-defined]
    open_vault(home, "the first one", env={}).close()  # the first vault is whole, and opens
