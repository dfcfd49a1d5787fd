"""Checks on the URLs Autopilot sends articles to, so a project cannot aim inward."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from autopilot.errors import ConfigError

ALLOW_PRIVATE_HINT = (
    "Autopilot refuses loopback, private, link-local, reserved, multicast and "
    "unspecified addresses. To allow one, for example for a WordPress on the same "
    "machine, set AUTOPILOT_ALLOW_PRIVATE_TARGETS=1."
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_target_url(url: str, *, allow_private: bool, what: str) -> str:
    """Return ``url`` stripped if it is an http(s) URL to a public host.

    ``what`` names the setting in messages ("WordPress site URL"). Unless
    ``allow_private``, the host is resolved and every address it resolves to
    must be public; a literal public IP address is accepted without DNS.
    """
    url = url.strip()
    parts = urlsplit(url)

    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"The {what} must start with http:// or https://: {url!r}.")
    if not parts.hostname:
        raise ConfigError(f"The {what} has no host name: {url!r}.")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"The {what} must not contain credentials; put them in the secrets."
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ConfigError(f"The {what} has an invalid port: {url!r}.") from exc

    if allow_private:
        return url

    for address in _addresses(parts.hostname, port, what):
        reason = _non_public_reason(address)
        if reason is not None:
            raise ConfigError(
                f"The {what} {url!r} points at {address}, a {reason} address. "
                f"{ALLOW_PRIVATE_HINT}"
            )
    return url


def _addresses(host: str, port: int, what: str) -> list[IPAddress]:
    """Return the addresses ``host`` stands for, resolving it only if it is a name."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(
            f"The host {host!r} of the {what} cannot be resolved ({exc}). "
            "Check the spelling and this machine's DNS."
        ) from exc

    # A scope id ("fe80::1%eth0") is not part of the address itself.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _non_public_reason(address: IPAddress) -> str | None:
    """Return why ``address`` is not a public one, or None if it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped

    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    )
    return next((reason for reason, matches in checks if matches), None)
