"""Unit tests of the edge's pure parts: header stripping, proxy resolution, config checks."""

from __future__ import annotations

import ipaddress
import re

import pytest

from gateway.settings import SettingsError, load_settings
from policies.edge import resolve_client, strip_identity_headers
from policies.governance import GovernanceError, parse_governance

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))


def h(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in pairs]


def test_identity_headers_are_stripped_whatever_their_case() -> None:
    headers = h(
        ("X-Consumer-ID", "admin"),
        ("x-authenticated-userid", "root"),
        ("X-Client-Id", "gold-client"),
        ("X-Credential-Identifier", "k"),
        ("X-User-Email", "a@b.c"),
        ("X-Forwarded-User", "admin"),
        ("X-Partner-Id", "p1"),
        ("X-Customer-Id", "c1"),
        ("Authorization", "Bearer t"),
        ("X-Request-ID", "r1"),
        ("X-Userland", "kept: not the x-user- prefix"),
    )
    assert strip_identity_headers(headers) == h(
        ("Authorization", "Bearer t"), ("X-Request-ID", "r1"), ("X-Userland", "kept: not the x-user- prefix")
    )


def test_untrusted_peer_headers_change_nothing() -> None:
    spoof = h(("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-Proto", "https"), ("Forwarded", "for=5.6.7.8"))
    assert resolve_client(("203.0.113.9", 5000), spoof, PROXIES) is None
    assert resolve_client(("10.0.0.1", 5000), spoof, ()) is None  # no trusted proxies configured
    assert resolve_client(None, spoof, PROXIES) is None
    assert resolve_client(("10.0.0.1", 5000), [], PROXIES) is None  # trusted, but nothing forwarded


def test_x_forwarded_for_is_walked_from_the_right() -> None:
    # "1.1.1.1" was injected by the client itself; 198.51.100.7 is what our proxy saw.
    headers = h(("X-Forwarded-For", "1.1.1.1, 198.51.100.7, 10.1.2.3"), ("X-Forwarded-Proto", "https"))
    assert resolve_client(("10.0.0.1", 5000), headers, PROXIES) == (("198.51.100.7", 0), "https")


def test_forwarded_is_preferred_and_parsed() -> None:
    headers = h(
        ("Forwarded", 'for="[2001:db8:cafe::17]:4711";proto=https, for=10.9.9.9;proto=http'),
        ("X-Forwarded-For", "9.9.9.9"),
    )
    assert resolve_client(("fd00::1", 1), headers, PROXIES) == (("2001:db8:cafe::17", 4711), "https")
    several = h(("Forwarded", "for=192.0.2.60:8443;proto=http;by=10.0.0.2"), ("Forwarded", "for=10.0.0.3"))
    assert resolve_client(("10.0.0.1", 1), several, PROXIES) == (("192.0.2.60", 8443), "http")


def test_unparseable_entries_end_the_walk() -> None:
    # "unknown" cannot be believed, nor anything left of it: the last trusted hop is the client.
    headers = h(("Forwarded", "for=6.6.6.6, for=unknown, for=10.0.0.7;proto=javascript"))
    assert resolve_client(("10.0.0.1", 1), headers, PROXIES) == (("10.0.0.7", 0), "")
    assert resolve_client(("10.0.0.1", 1), h(("X-Forwarded-For", "garbage")), PROXIES) is None


def test_trusted_proxies_setting_is_validated_at_start_up() -> None:
    settings = load_settings(environ={"STRATA_TRUSTED_PROXIES": "10.0.0.0/8, ::1,192.168.1.7"})
    assert [str(n) for n in settings.trusted_proxy_networks] == ["10.0.0.0/8", "::1/128", "192.168.1.7/32"]
    assert load_settings(environ={}).trusted_proxy_networks == ()
    with pytest.raises(SettingsError, match=re.escape("trusted_proxies: '10.0.0.0/33'")):
        load_settings(environ={"STRATA_TRUSTED_PROXIES": "10.0.0.0/8,10.0.0.0/33"})
    with pytest.raises(SettingsError, match=re.escape("trusted_proxies: 'proxy.internal'")):
        load_settings({"trusted_proxies": "proxy.internal"}, environ={})


def test_max_in_flight_setting() -> None:
    assert load_settings(environ={}).max_in_flight == 512
    assert load_settings(environ={"STRATA_MAX_IN_FLIGHT": "0"}).max_in_flight == 0
    with pytest.raises(SettingsError, match="max_in_flight"):
        load_settings(environ={"STRATA_MAX_IN_FLIGHT": "-1"})
    with pytest.raises(SettingsError, match="max_in_flight"):
        load_settings(environ={"STRATA_MAX_IN_FLIGHT": "many"})


BASE = "tiers: {bronze: {limits: ['1/second']}}\n"
OWN = "http://127.0.0.1:8080"


def test_cors_config_is_checked() -> None:
    ok = parse_governance(BASE + "cors: {system/crm/v1: {origins: ['https://app.example.com:8443']}}", own_issuer=OWN)
    assert ok.cors["system/crm/v1"].max_age == 600
    with pytest.raises(GovernanceError) as caught:
        parse_governance(
            BASE
            + "cors:\n"
            + "  crm: {origins: ['https://a.example']}\n"
            + "  system/crm/v2: {origins: ['*', 'null', 'https://a.example/', 'HTTPS://A.EXAMPLE'], max_age: 99999}\n"
            + "  system/crm/v3: {origins: []}\n",
            own_issuer=OWN,
        )
    text = str(caught.value)
    assert "cors: 'crm' is not an API id" in text
    for bad in ("'*'", "'null'", "'https://a.example/'", "'HTTPS://A.EXAMPLE'"):
        assert bad in text
    assert "cors.system/crm/v2.max_age" in text
    assert "cors.system/crm/v3.origins: empty" in text
    with pytest.raises(GovernanceError, match="allowed_origins"):
        parse_governance(BASE + "cors: {system/crm/v1: {allowed_origins: ['https://a.example']}}", own_issuer=OWN)


def test_a_port_of_unicode_digits_is_unparseable_not_a_crash() -> None:
    # "²".isdigit() is true and int("²") raises; header bytes are latin-1, which has ¹ ² ³.
    for node in ("198.51.100.7:\u00b2", "[2001:db8::1]:\u00b3", "198.51.100.7:8\u00b9"):
        headers = [(b"x-forwarded-for", f"{node}, 10.0.0.7".encode("latin-1"))]
        assert resolve_client(("10.0.0.1", 1), headers, PROXIES) == (("10.0.0.7", 0), "")
