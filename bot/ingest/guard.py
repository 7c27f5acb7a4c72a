"""The address guard: feed fetching may only connect to public addresses.

The check sits in the one place every connection passes through whatever the URL looked like:
the socket factory aiohttp's connector calls with the socket address it is about to connect
to, after its own parsing, IDNA/UTS 46 mapping and name resolution. A host written with
fullwidth digits, ideographic full stops or circled digits, an IPv6 form of an IPv4 address
or a name that resolves to a private address all arrive there as the same socket address, so
no spelling of a host can go around it, on the first hop or on any redirect.

`normalise_url` reads a URL with the HTTP client's own rules (yarl), so that what newsbot shows,
stores and counts per host is the host the client will really use.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from yarl import URL

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Networks the guard treats as public. Empty in production; a test may mark one loopback
# address as public here, to stand in for a public feed host (a redirect *from* it is then tested).
TEST_PUBLIC_NETWORKS: tuple[Network, ...] = ()

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def address_problem(address: str, exempt: tuple[Network, ...] = ()) -> str | None:
    """Why `address` may not be connected to, or None when it is public (or in an `exempt` network)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        # an IPv4 address wrapped in IPv6 (mapped, 6to4, Teredo, NAT64) is judged as the IPv4 address
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and any(ip in net for net in _NAT64):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            ip = inner
    if any(ip in net for net in exempt):
        return None
    # most specific first: link-local and loopback ranges also count as "private"
    for attr, why in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_private", "private"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_unspecified", "unspecified"),
    ):
        if getattr(ip, attr):
            return f"{address} is a {why} address"
    if not ip.is_global:
        # shared (carrier-grade NAT, 100.64.0.0/10, where some clouds keep their metadata service)
        # and other special-purpose ranges
        return f"{address} is not a public address"
    return None


class RefusedAddress(OSError):
    """Raised by the socket factory before any packet is sent; `problem` says why.

    Every refusal has the same text, so that aiohttp (which merges several connect errors only
    when their texts differ) passes one of them up unchanged; the reason travels in `problem`.
    Nothing about the target's ports can show: the refusal comes before any connection.
    """

    def __init__(self, problem: str) -> None:
        super().__init__("the address is not public")
        self.problem = problem


class AddressGuard:
    """A socket factory for aiohttp.TCPConnector that refuses every address that is not public."""

    def __init__(self, exempt: tuple[Network, ...] = ()) -> None:
        self.exempt = exempt

    def socket_factory(self, addr_info: tuple[Any, ...]) -> socket.socket:
        family, kind, proto, _canon, sockaddr = addr_info
        problem = address_problem(str(sockaddr[0]), self.exempt)
        if problem:
            raise RefusedAddress(problem)
        return socket.socket(family=family, type=kind, proto=proto)


class BadURL(ValueError):
    """The URL cannot be fetched as written; the message says why."""


def normalise_url(url: str) -> URL:
    """`url` as the HTTP client reads it: IDNA/UTS 46-mapped host (fullwidth digits and dots become
    ASCII), brackets-free IPv6, default port filled in. BadURL for a URL without a usable host.
    """
    try:
        parsed = client_url(url)
    except (ValueError, UnicodeError) as exc:
        raise BadURL(f"the URL cannot be read ({exc})") from None
    host = parsed.host
    if not host:
        raise BadURL("the URL has no host")
    problem = host_problem(parsed.raw_host or host)
    if problem:
        raise BadURL(problem)
    return parsed


def client_url(text: str) -> URL:
    """yarl's reading of `text`, with the host written back in its mapped form.

    (yarl keeps a bracketed IPv6 host such as "[::１]" unbracketed in str(); setting the host
    again writes "[::1]".) Raises ValueError or UnicodeError for text yarl cannot read.
    """
    parsed = URL(text)
    return parsed.with_host(parsed.host) if parsed.absolute and parsed.host else parsed


def host_problem(host: str) -> str | None:
    """Why a host name (IDNA-encoded, as yarl gives it) cannot be looked up, or None."""
    if ":" in host:
        return None  # an IPv6 literal
    name = host.rstrip(".")
    if len(name) > 253:
        return f"the host name is {len(name)} characters long; DNS allows at most 253"
    for label in name.split("."):
        if not label:
            return f'the host name "{host}" has an empty part between dots'
        if len(label) > 63:
            return f'the host name has a part of {len(label)} characters ("{label[:20]}..."); DNS allows at most 63'
    return None
