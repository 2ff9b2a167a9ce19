"""``tokendeck agent``: the vault unlocked once, in one process per user and vault.

- :mod:`vault.agent.wire`: where the socket lives, the one-request protocol, and the
  client end every front end uses (standard library only, and only its cheapest parts);
- :mod:`vault.agent.server`: the agent itself (threads, peer checks, the refresher);
- :mod:`vault.agent.launch`: starting it (lock file, fork, daemon) and stopping it.

The command line's side is :mod:`vault.cli.agent` (``tokendeck agent``, ``lock``) and
:mod:`vault.cli.fast` (``token``, ``list``, ``exec`` and ``git-credential get`` through it).
"""
