"""Widgets the screens are built from: the list's table and side panel, the footer, the sign-in forms.

A widget says what the user wants with a message nested on its class; it never imports a
screen (``tests/test_import_hygiene.py`` keeps it so).
"""
