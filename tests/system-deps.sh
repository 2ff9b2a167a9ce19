#!/bin/sh
# Installs the system packages the tests use, where it can: a real Secret Service daemon, the
# shells the completion scripts are for, OpenSSH's server for the agent-forwarding test, libfiu's
# fault injector (fiu-utils) for the failing-disk tests (tests/test_fault_injection.py), strace
# for the failing-system-call ones (tests/test_os_errors.py, tests/test_restore_faults.py), GitHub's
# CLI gh (tests/test_proxy_clients.py runs `gh api user` through the placeholder proxy), ripgrep
# (benchmarks/scan.py measures tokendeck scan against `rg -F`), bubblewrap (tests/test_sandbox.py
# runs the README's sandboxed session), a C compiler (gcc: hatch_build.py builds tokendeck scan's
# literal search, vault/core/literals.c, when the venv is installed, so `make` runs this script
# first), and npm
# (for tests/interop/install.sh, which `make test` runs next: it installs the pinned npm packages
# of the interoperability tier, Node 22 among them, so Debian's own nodejs only has to run npm).
#
# tests/test_keyring_secret_service.py starts a private D-Bus session bus (dbus-daemon) and
# Debian's gnome-keyring-daemon on it; tests/test_completion.py loads the generated scripts
# into real zsh and fish; tests/test_ssh.py starts its own sshd on a loopback port.  npm is
# installed (with Debian's nodejs) only where there is none: a machine's own Node and npm do.
# This script:
#   - does nothing when both binaries are already installed;
#   - as root with apt-get (CI, containers), installs them and fails loudly if that fails;
#   - otherwise says in one line that the Secret Service test will be skipped, and succeeds
#     (the test itself refuses to skip when CI is set).
set -eu

have() {
    command -v "$1" >/dev/null 2>&1
}

ready() {
    have gnome-keyring-daemon && have dbus-daemon && have zsh && have fish && [ -x /usr/sbin/sshd ] && have ssh \
        && have npm && have fiu-run && have strace && have gh && have rg && have bwrap && { have cc || have gcc; }
}

if ready; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ] && have apt-get; then
    npm=
    have npm || npm="nodejs npm"
    echo "system-deps: installing gnome-keyring and dbus (the Secret Service test), zsh and fish (completion)," \
        "openssh-server (agent forwarding), fiu-utils and strace (fault injection), gh (the proxy's clients)," \
        "ripgrep (the scan benchmark), bubblewrap (the sandboxed session), gcc (scan's literal search)" \
        "${npm:+, nodejs and npm (the interoperability tier's npm ci)}" >&2
    apt-get update -qq
    # shellcheck disable=SC2086 # $npm is empty or two package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnome-keyring dbus zsh fish \
        openssh-server openssh-client fiu-utils strace gh ripgrep bubblewrap gcc libc6-dev $npm
    if ! ready; then
        echo "system-deps: gnome-keyring-daemon, dbus-daemon, zsh, fish, sshd, npm, fiu-run, strace, gh, rg, bwrap or cc" \
            "still missing after apt-get install" >&2
        exit 1
    fi
    exit 0
fi

echo "system-deps: gnome-keyring-daemon, dbus-daemon, zsh, fish, sshd, npm, fiu-run, strace, gh, rg, bwrap or cc is missing" \
    "(install gnome-keyring, dbus, zsh, fish, openssh-server, fiu-utils, strace, gh, ripgrep, bubblewrap, gcc, and nodejs and npm, as root);" \
    "the tests that need them will be skipped" >&2
exit 0
