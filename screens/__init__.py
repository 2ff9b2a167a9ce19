"""tokendeck's Textual interface. Talks to the vault through ``vault.services`` and ``vault.core``
(and starts or joins the agent through ``vault.agent``); never through the CLI or ``vault.oauth``."""
