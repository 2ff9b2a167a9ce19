"""Every page of a vault, decrypted by hand: ``vault.db``'s and every frame in its ``-wal``.

SQLCipher 4's page layout: 4096 bytes, the last 80 reserved for a 16-byte IV and a 64-byte
HMAC; AES-256-CBC over the rest, under the raw key; page 1 starts with the 16-byte salt in
the clear.  A WAL is a 32-byte header, then frames of a 24-byte header and one page.  This
reads what a thief with the key would read, old pages and stale frames included, which no
SQL query shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAGE = 4096
RESERVE = 80
SALT = 16


def decrypt_page(page: bytes, number: int, key: bytes) -> bytes:
    start = SALT if number == 1 else 0
    iv = page[PAGE - RESERVE : PAGE - RESERVE + 16]
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(page[start : PAGE - RESERVE]) + decryptor.finalize()


def plaintext_pages(db: Path, key: bytes) -> Iterator[tuple[str, bytes]]:
    """(where, plaintext) for every page in ``db`` and every frame in ``db``-wal."""
    data = db.read_bytes()
    for offset in range(0, len(data), PAGE):
        number = offset // PAGE + 1
        yield f"vault.db page {number}", decrypt_page(data[offset : offset + PAGE], number, key)
    wal = Path(f"{db}-wal")
    frames = wal.read_bytes() if wal.exists() else b""
    for index, offset in enumerate(range(32, len(frames) - 24 - PAGE + 1, 24 + PAGE)):
        number = int.from_bytes(frames[offset : offset + 4], "big")
        page = frames[offset + 24 : offset + 24 + PAGE]
        yield f"-wal frame {index} (page {number})", decrypt_page(page, number, key)


def where_found(db: Path, key: bytes, secret: str) -> list[str]:
    return [where for where, text in plaintext_pages(db, key) if secret.encode() in text]
