"""The library for programs: a token valid now, an ``httpx.Auth`` (and an ``httpx2.Auth``), Google credentials,
and drop-in replacements for plaintext token stores.

Each call asks the running agent first (:mod:`vault.agent.wire`) and otherwise opens
the vault through :mod:`vault.services`.  The public names are re-exported by
:mod:`vault` (``vault.get_token``...) and :mod:`vault.compat`.  See ``ARCHITECTURE.md``.
"""
