"""Every environment variable tokendeck reads or sets, and its timing budget.

Constants only, and no imports: the ``tokendeck token`` fast path loads this
module, so it must cost nothing.  A test keeps every environment variable's name
out of every other module.

The timing budget is derived, not written down four times: a refresh is a few
tries of a provider call with backoff between them, plus one vault write; whoever
waits for a refresh (another process, the agent locking or stopping, a client
waiting for the agent's answer) waits at least that long, plus some slack.  Change
a provider timeout and every wait that depends on it follows.
"""

# ------------------------------------------------------------------ environment

HOME_ENV = "TOKENDECK_HOME"
"""The vault home (default: the platform's data directory)."""
PASSPHRASE_COMMAND_ENV = "TOKENDECK_PASSPHRASE_COMMAND"
"""A command whose output is the passphrase (tried first)."""
PASSPHRASE_FILE_ENV = "TOKENDECK_PASSPHRASE_FILE"
"""A file whose first line is the passphrase (tried second)."""
PASSPHRASE_ENV = "TOKENDECK_PASSPHRASE"
"""The passphrase itself (tried third; the borg/restic convention)."""
NEW_PASSPHRASE_ENV = "TOKENDECK_NEW_PASSPHRASE"
"""The new passphrase for ``tokendeck passphrase change``."""
NO_AGENT_ENV = "TOKENDECK_NO_AGENT"
"""Set (to anything but empty) to never use an agent: every command opens the vault."""
AGENT_SOCK_ENV = "TOKENDECK_AGENT_SOCK"
"""On a remote machine (``tokendeck ssh``): the forwarded socket of the agent of the machine
that holds the vault.  Set, every command that an agent answers asks it there and nowhere
else (there is no vault here to fall back to)."""
AUDIT_DAYS_ENV = "TOKENDECK_AUDIT_DAYS"
"""How many days of the audit log to keep (default :data:`AUDIT_KEEP_DAYS`), for whoever refreshes in
the background (the agent, or the TUI): older events are deleted once a day."""

FAULT_ENV = "TOKENDECK_FAULT"
"""For the fault-injection tests only: ``POINT`` or ``POINT:N`` kills the process (SIGKILL) the
N-th time (default the first) it reaches that named step (:mod:`vault.core.faults`)."""

PROXY_RESOLVE_ENV = "TOKENDECK_PROXY_RESOLVE"
"""For the end-to-end tests only: ``HOST=PORT,...`` sends ``tokendeck proxy run``'s requests for
HOST to that port on 127.0.0.1 (:mod:`vault.proxy.stand_ins`; the command says so on stderr)."""
PROXY_UPSTREAM_CA_ENV = "TOKENDECK_PROXY_UPSTREAM_CA"
"""For the end-to-end tests only: the CA file the proxy checks upstream certificates against."""
CONFIRM_TIMEOUT_ENV = "TOKENDECK_CONFIRM_TIMEOUT"
"""For the consent tests only: seconds the agent waits for an answer to a consent question
instead of :data:`CONFIRM_TIMEOUT` (read when the agent starts), so a late answer can be shown."""

VAULT_SECRET_ENVS = (PASSPHRASE_ENV, NEW_PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, PASSPHRASE_COMMAND_ENV)
"""Everything that unlocks the vault (a passphrase, or where to get one)."""


def unlocks_vault(name: str) -> bool:
    """Whether the environment variable ``name`` may unlock the vault: one of
    :data:`VAULT_SECRET_ENVS`, or any ``TOKENDECK_*PASSPHRASE*``.  Such a variable is never
    handed to a program ``tokendeck exec`` runs, nor to the agent's process."""
    return name in VAULT_SECRET_ENVS or (name.startswith("TOKENDECK_") and "PASSPHRASE" in name)


RUNTIME_DIR_OVERRIDE_ENV = "TOKENDECK_RUNTIME_DIR"
"""For tests only: the agent's socket directory instead of the per-user one, which no other
variable moves (:func:`vault.agent.wire.runtime_dir`: an MCP client may start the bridge
without this variable, and the bridge must still find the agent)."""
DATA_HOME_ENV = "XDG_DATA_HOME"
"""The platform data directory on Linux, for finding the default home without platformdirs."""
BROWSER_ENV = "BROWSER"
"""The browser command(s) to open a sign-in URL with (as Python's :mod:`webbrowser` reads it)."""
DISPLAY_ENVS = ("DISPLAY", "WAYLAND_DISPLAY")
"""Set: a graphical session, where the MCP bridge may start the desktop's URL opener."""
SESSION_BUS_ENV = "DBUS_SESSION_BUS_ADDRESS"
"""A desktop session: then the agent's expiry warnings go to ``notify-send`` too, and its consent
questions are desktop notifications on that bus (:mod:`vault.agent.desktop`)."""
GIT_DIR_ENV = "GIT_DIR"
"""Set: git looks for the repository there, so a plaintext export may be going into one."""
PATH_ENV = "PATH"
"""Where ``tokendeck exec`` looks for the command."""
CONFIG_HOME_ENV = "XDG_CONFIG_HOME"
"""Where gh keeps its configuration when ``$GH_CONFIG_DIR`` is unset (``tokendeck import gh``)."""
GH_CONFIG_DIR_ENV = "GH_CONFIG_DIR"
"""GitHub CLI's configuration directory, holding ``hosts.yml`` (``tokendeck import gh``)."""
NETRC_ENV = "NETRC"
"""The netrc file curl and git read instead of ``~/.netrc`` (``tokendeck import netrc``)."""
OAUTHLIB_RELAX_SCOPE_ENV = "OAUTHLIB_RELAX_TOKEN_SCOPE"
"""Set for google-auth-oauthlib's exchange only: Google answers with scopes spelled as URLs."""
OAUTHLIB_INSECURE_ENV = "OAUTHLIB_INSECURE_TRANSPORT"
"""Set for google-auth-oauthlib's exchange only, and only for an http URL on loopback (tests)."""

# -------------------------------------------------------------------- timing

PROVIDER_CONNECT_TIMEOUT = 10.0
"""Seconds to connect to a provider."""
PROVIDER_TIMEOUT = 20.0
"""Seconds for one whole exchange with a provider, from connecting to the last byte of its
answer (one deadline: a server that drips its answer a byte at a time is cut off here), and
at most for each step of it."""
REFRESH_ATTEMPTS = 3
"""Tries for a refresh that fails transiently (network, 5xx, 429): the first call and two retries."""
MAX_BACKOFF = 30.0
"""The longest wait between two tries (a provider's ``Retry-After`` is capped at this)."""
VAULT_BUSY_TIMEOUT = 5.0
"""How long a write waits for another process's write lock on the vault before "vault busy"."""
SLACK = 5.0
"""Room each wait leaves for what the budget does not count: scheduling, a slow disk, fsync."""
CONFIRM_TIMEOUT = 60.0
"""How long a forward made with ``tokendeck ssh --confirm`` waits for the user to allow a use
before it denies it."""
FORWARD_PENDING_QUESTIONS = 8
"""Uses one ``--confirm`` forward may have waiting for the user's answer at once; one more is
denied at once (a remote cannot bury the user in questions)."""

AGENT_CLIENT_TIMEOUT = 5.0
"""Seconds a client of the agent has to send its whole request, and again to take its answer;
then it is dropped (an idle or slow client holds a file descriptor until then, never a worker)."""
AGENT_WORKERS = 32
"""Requests from the agent's own socket worked on at once (each on a thread of its own); one
client process gets at most half of them, the rest of its requests wait their turn."""
AGENT_FORWARD_WORKERS = 8
"""Requests from every forward together worked on at once: a pool of their own, so a forward's
requests never queue ahead of a local one; one forward gets at most half of them."""
AGENT_SOURCE_CONNECTIONS = 128
"""Connections one client process (by its pid) or one forward may hold open at the agent; a new
one beyond pushes out its oldest that has not sent its request."""
AGENT_MAX_CONNECTIONS = 4096
"""Connections the agent holds open at once, every client and forward together (fewer when its
file limit is lower): beyond, the oldest that has not sent its request goes."""

LONGEST_REFRESH = REFRESH_ATTEMPTS * PROVIDER_TIMEOUT + (REFRESH_ATTEMPTS - 1) * MAX_BACKOFF + VAULT_BUSY_TIMEOUT
"""The longest one refresh holds its credential's lock: every try runs out of time, every wait
between them is the longest, then the new tokens wait for the vault's write lock (125 s)."""
REFRESH_LOCK_WAIT = PROVIDER_TIMEOUT + VAULT_BUSY_TIMEOUT + SLACK
"""How long a party waits for another's refresh of the same credential before a clear "refresh
busy" answer: one exchange's deadline and one write, with room (30 s).  A refresh that takes
longer (it is retrying a provider that fails) is not waited out: the reader is told."""
LONGEST_REQUEST = REFRESH_LOCK_WAIT + LONGEST_REFRESH
"""The longest one credential's token can take to be handed out: it waits for another party's
refresh and then refreshes it itself (155 s)."""
AGENT_IN_FLIGHT_WAIT = LONGEST_REQUEST + SLACK
"""How long the agent, locking or stopping, waits for requests and refreshes in flight, so a
rotated refresh token a provider already sent is always stored (160 s)."""
AGENT_STOP_WAIT = AGENT_IN_FLIGHT_WAIT + SLACK
"""How long ``tokendeck agent stop`` waits for the agent to let go of the vault (165 s)."""
AGENT_ANSWER_TIMEOUT = LONGEST_REQUEST + SLACK
"""How long a client waits for the agent's answer: longer than a request may take, so a slow
refresh is not mistaken for a dead agent (160 s)."""
VERIFY_START_BY = AGENT_ANSWER_TIMEOUT - PROVIDER_TIMEOUT - SLACK
"""``tokendeck verify``: a check not started this long after the first is not sent (said as
"could not check: out of time"), so the agent answers a large vault's checks before its
client stops waiting (135 s; a check that refreshes first may still take longer)."""
AUDIT_KEEP_DAYS = 365
"""The audit log keeps a year of events unless ``TOKENDECK_AUDIT_DAYS`` says otherwise."""
AGENT_LOCK_AFTER = 3600.0
"""The default of the vault's one auto-lock policy (``lock_after`` in ``vault.toml``,
:mod:`vault.core.policy`): the agent locks itself after this long without a request from any
client (``--lock-after`` overrides it for one agent, ``never`` turns it off).  A TUI whose user
presses keys counts as requests; its own idle timer hides only its view and never locks the
agent; its Ctrl+L and ``tokendeck lock`` lock everything at once."""
AGENT_START_TIMEOUT = 30.0
"""How long ``tokendeck agent start`` waits for the new agent to answer."""

REFRESH_INTERVAL = 60.0
"""How often the background refresher (in the agent, or in a TUI without one) looks for work."""
REFRESH_SKEW = 60.0
"""A read refreshes an OAuth access token at most this many seconds before it expires, so it is
not handed out to expire in the middle of its first request (for a token that lives an hour)."""
REFRESH_AHEAD = 300.0
"""The background refresher renews an access token at most this many seconds before it expires:
earlier than a read would, so reads find it fresh."""
READ_FRACTION = 1 / 8
"""For a short-lived token, a read refreshes it in the last eighth of its lifetime instead (a
20-second token: 2.5 s before it expires), so a token just issued is never due."""
AHEAD_FRACTION = 1 / 4
"""For a short-lived token, the background refresher renews it in the last quarter of its life."""
MIN_REFRESH_SPACING = 5.0
"""The background refresher refreshes one credential at most this often (a provider that
answers ``expires_in`` 0 or 1 must not make it spin)."""
REFRESH_BACKOFF_CEILING = 900.0
"""After refreshes that failed in a row, the next waits the spacing doubled for each failure,
up to this (15 minutes), with a fifth of jitter either way; a success starts over."""
RETRY_AFTER_CEILING = 86400.0
"""A provider's ``Retry-After`` is honoured, up to a day (a larger one is taken as a day)."""

ENVIRONMENT: tuple[tuple[str, str], ...] = (
    (HOME_ENV, "the vault home (default: the platform's data directory)"),
    (PASSPHRASE_COMMAND_ENV, "a command whose output is the passphrase (tried first)"),
    (PASSPHRASE_FILE_ENV, "a file whose first line is the passphrase (tried second)"),
    (PASSPHRASE_ENV, "the passphrase itself (tried third)"),
    (NEW_PASSPHRASE_ENV, "the new passphrase for passphrase change and backup --passphrase"),
    (NO_AGENT_ENV, "set: never use an agent; every command opens the vault"),
    (AGENT_SOCK_ENV, "on a remote machine: the forwarded agent socket tokendeck ssh made"),
    (AUDIT_DAYS_ENV, f"days of audit log to keep (default {AUDIT_KEEP_DAYS})"),
    (GH_CONFIG_DIR_ENV, "import gh: GitHub CLI's configuration directory (holding hosts.yml)"),
    (NETRC_ENV, "import netrc: the netrc file to read (default ~/.netrc)"),
)
"""What ``tokendeck --help`` lists: the variables a user may set (the fault-injection one and the
runtime directory's override are for tests)."""
