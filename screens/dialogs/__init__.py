"""Modal dialogs over the screen in front: a question (confirm, prompt, rotate) or one view (help, forwards).

A dialog never imports a screen (``tests/test_import_hygiene.py`` keeps it so).
"""
