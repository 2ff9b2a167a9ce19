"""``tokendeck mcp-bridge NAME``: a stdio MCP server in front of a remote one, with fresh tokens."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "mcp-bridge",
        help="serve MCP on stdin/stdout, forwarding to the remote MCP server NAME was signed in to "
        "(tokendeck login --mcp), with a fresh token on every request",
        description="A stdio MCP server for clients that start one (Claude Desktop, Zed, ...): every message goes "
        "both ways to the credential's remote streamable-HTTP server, each request with a fresh bearer token "
        "(from the agent when it runs; a 401 gets one refresh and retry). The token is written nowhere; "
        "messages about the bridge go to stderr.",
    )
    p.add_argument(
        "--home",
        help="the vault's home (default: $TOKENDECK_HOME, else the platform's data directory); export --bridge "
        "writes it, so a client that passes few environment variables (Codex, Gemini CLI) still finds the vault",
    )
    p.add_argument("name", help="the credential of an MCP server (see tokendeck login --mcp)")
    p.set_defaults(handler=cmd_mcp_bridge)


def cmd_mcp_bridge(args: argparse.Namespace) -> int:
    from vault.bridges.mcp_bridge import run

    return run(args.name, home=args.home)
