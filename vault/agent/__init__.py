"""``tokendeck agent``: the vault unlocked once, in one process per user and vault.

- :mod:`vault.agent.wire`: where the socket lives and the one-request protocol
  (standard library only, and only its cheapest parts);
- :mod:`vault.agent.fast`: the client side of ``token``, ``list``, ``exec`` and
  ``git-credential get``, tried before anything else is imported;
- :mod:`vault.agent.server`: the agent itself (threads, peer checks, the refresher).

``tokendeck agent start|stop|status`` and ``tokendeck lock`` live in
:mod:`vault.commands_agent`.
"""
