"""``tokendeck proxy run``: a program gets placeholders, and a loopback proxy swaps in the real
token only on requests to the hosts that token is for (issue 35).

The parts that need no interception engine live here: the per-vault CA (:mod:`.ca`), the
placeholders (:mod:`.placeholders`), where each credential's token may go (:mod:`.hosts`) and
the child's environment (:mod:`.environment`).  The engine (``engine.py``) intercepts TLS and
substitutes; the command in :mod:`vault.cli.proxy` puts them together.  Like
:mod:`vault.bridges`, started by its command alone.
"""
