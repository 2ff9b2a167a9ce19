"""tokendeck's Textual interface. Talks to the vault through ``vault.services`` and ``vault.core``
(and starts or joins the agent through ``vault.agent``); never through the CLI or ``vault.oauth``.

The screens and the app that routes them stand here; their parts have rooms of their own:
``dialogs/`` (modals), ``widgets/``, and ``logic/`` (what they show and decide, without Textual)."""
