"""Storage: the encrypted file, its keys, and the records in it.

The bottom layer.  It imports nothing of tokendeck's but :mod:`vault.errors`,
talks to no network and no user, and never refreshes a
token: it reads and writes.  See ``ARCHITECTURE.md``.
"""
