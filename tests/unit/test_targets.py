"""Target URL checks: only public http(s) hosts unless private targets are allowed."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from autopilot.errors import ConfigError
from autopilot.pipeline.targets import check_target_url


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://10.1.2.3:8080/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]:8000/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[::ffff:192.168.1.1]/", "private"),
    ],
)
def test_internal_addresses_are_refused(url: str, kind: str) -> None:
    """An internal address is refused with a message naming its kind and the opt-in."""
    with pytest.raises(ConfigError) as caught:
        check_target_url(url, allow_private=False, what="webhook URL")

    assert kind in caught.value.message
    assert "AUTOPILOT_ALLOW_PRIVATE_TARGETS=1" in caught.value.message


def test_localhost_name_is_refused() -> None:
    """A host name that resolves to loopback is refused like the address itself."""
    with pytest.raises(ConfigError, match="loopback"):
        check_target_url(
            "http://localhost:8881", allow_private=False, what="WordPress site URL"
        )


def test_name_resolving_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A public-looking name is refused when any address it resolves to is private."""

    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.0.10", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)

    with pytest.raises(ConfigError, match=r"192\.168\.0\.10"):
        check_target_url("https://blog.example/", allow_private=False, what="site")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8881",
        "http://10.0.0.5/hook",
        "http://169.254.1.1/",
        "http://[::1]/",
        "http://localhost:8881/",
    ],
)
def test_internal_addresses_are_allowed_when_private_targets_are(url: str) -> None:
    """With allow_private, an internal target is returned unchanged."""
    assert check_target_url(url, allow_private=True, what="site") == url


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "file:///etc/passwd", "example.com", "javascript:x"]
)
def test_non_http_schemes_are_refused(url: str) -> None:
    """Only http and https URLs are accepted, even with allow_private."""
    with pytest.raises(ConfigError, match="http:// or https://"):
        check_target_url(url, allow_private=True, what="webhook URL")


def test_credentials_in_url_are_refused() -> None:
    """A URL carrying a user name and password is refused; secrets go elsewhere."""
    with pytest.raises(ConfigError, match="credentials"):
        check_target_url(
            "https://admin:pw@93.184.216.34/", allow_private=False, what="site"
        )


def test_public_literal_address_is_accepted_without_dns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A literal public IP address is accepted without asking DNS."""

    def no_dns(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("DNS must not be consulted for a literal address")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)

    url = "https://93.184.216.34/wp"
    assert check_target_url(f"  {url} ", allow_private=False, what="site") == url


def test_unresolvable_host_is_refused_with_advice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host that does not resolve is a ConfigError that says to check the name."""

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing)

    with pytest.raises(ConfigError, match="cannot be resolved"):
        check_target_url("https://no-such-host.invalid/", allow_private=False, what="x")
