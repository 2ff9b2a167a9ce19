"""The engines behind ``tokendeck mcp-bridge`` and ``tokendeck ssh``: each carries tokens across a boundary.

- :mod:`vault.bridges.mcp_bridge`: a stdio MCP server forwarding to a remote HTTP one, with a
  fresh bearer token on every request (:mod:`vault.integrations.bearer`'s rule), and
  :mod:`vault.bridges.mcp_stepup`, its sign-in again when the server asks for more;
- :mod:`vault.bridges.ssh_forward`: the user's OpenSSH with a forward of the agent.

Only :mod:`vault.cli` starts them; the library for programs (:mod:`vault.integrations`)
never imports them.  See ``ARCHITECTURE.md``.
"""
