"""Use cases: what the CLI, the TUI, the agent and the library all do the same way.

Opening a vault, signing in, handing out a token that is valid now (refreshing on
read), refreshing, revoking, the background refresher, and the rules for what a
user may register or store.  Each rule is written here once and called by every
front end.  See ``ARCHITECTURE.md``.
"""
