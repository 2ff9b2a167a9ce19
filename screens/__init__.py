"""tokendeck's Textual interface. Talks to the vault only through ``vault``'s public API."""
