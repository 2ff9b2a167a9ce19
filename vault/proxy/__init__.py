"""``tokendeck proxy run``: a program gets placeholders, and a loopback proxy swaps in the real
token only on requests to the hosts that token is for (issue 35).

The parts that need no interception engine live here: the CA bundle the command trusts
(:mod:`.ca`), the placeholders (:mod:`.placeholders`) and the child's environment
(:mod:`.environment`); the rules the agent also serves live in :mod:`vault.services` (the vault's
CA, :mod:`~vault.services.proxy_ca`; where each credential's token may go,
:mod:`~vault.services.proxy_hosts`).  The engine (``engine.py``) intercepts TLS and
substitutes; the command in :mod:`vault.cli.proxy` puts them together.  Like
:mod:`vault.bridges`, started by its command alone.
"""
