"""The test-only stand-ins of ``tokendeck proxy run`` (vault.proxy.stand_ins): loopback ports only,
bad values refused in one line, and said aloud whenever they are in effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault.errors import InvalidInput
from vault.proxy.stand_ins import StandIns, stand_ins


def test_unset_means_none_and_no_warning() -> None:
    found = stand_ins({})
    assert found == StandIns() and found.warning() is None


def test_hosts_go_to_loopback_ports_and_the_warning_names_each(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    found = stand_ins(
        {"TOKENDECK_PROXY_RESOLVE": "API.github.com=8443, github.com=8444,", "TOKENDECK_PROXY_UPSTREAM_CA": str(ca)}
    )
    assert found.resolve == {"api.github.com": ("127.0.0.1", 8443), "github.com": ("127.0.0.1", 8444)}
    assert found.upstream_cafile == str(ca)
    warning = found.warning()
    assert warning is not None
    assert "api.github.com -> 127.0.0.1:8443; github.com -> 127.0.0.1:8444" in warning and str(ca) in warning


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"TOKENDECK_PROXY_RESOLVE": "api.github.com"}, "each entry is HOST=PORT"),
        ({"TOKENDECK_PROXY_RESOLVE": "api.github.com=10.0.0.1:443"}, "each entry is HOST=PORT"),
        ({"TOKENDECK_PROXY_RESOLVE": "api.github.com=0"}, "each entry is HOST=PORT"),
        ({"TOKENDECK_PROXY_RESOLVE": "api.github.com=70000"}, "each entry is HOST=PORT"),
        ({"TOKENDECK_PROXY_RESOLVE": "=443"}, "each entry is HOST=PORT"),
        ({"TOKENDECK_PROXY_UPSTREAM_CA": "/no/such/ca.pem"}, "no such file"),
    ],
)
def test_a_bad_value_is_one_clear_message(environ: dict[str, str], says: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        stand_ins(environ)
    assert says in str(raised.value) and raised.value.exit_code == 2
