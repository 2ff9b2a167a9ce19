"""What the screens show and decide, without Textual (``tests/test_import_hygiene.py`` keeps it so).

The list's order and filter, a credential's facts, the colours of urgency, the sign-in
screen's provider choices, ``tui.toml``, and who keeps the tokens fresh while the TUI is open.
"""
