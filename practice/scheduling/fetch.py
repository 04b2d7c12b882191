"""Fetching a calendar feed from the internet without becoming a way into the practice's own network.

Guards: http(s) and webcal only; every address the host resolves to must be public (unless allowed by
FEED_ALLOWED_NETWORKS, for tests and on-premises calendars), and the connection goes to the address that was
checked (no DNS rebinding); redirects are followed by hand and checked again; size and time are capped.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from practice.core.numbers import whole_number

MAX_REDIRECTS = 3
USER_AGENT = "practice-calendar-sync/1.0"


class FetchError(Exception):
    """The feed could not be fetched; the message is for the counselor."""


@dataclass(frozen=True)
class FetchResult:
    status: int  # 200, or 304 when unchanged since the last fetch
    body: bytes
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = 5 * 1024 * 1024
    timeout: float = 10.0
    allowed_networks: tuple[str, ...] = ()  # e.g. ("127.0.0.0/8",) in tests


def normalize_feed_url(url: str) -> str:
    url = url.strip()
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://"):]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("Use the calendar's full web address, starting with https:// or webcal://.")
    return url


def _checked_address(host: str, port: int, policy: FetchPolicy) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise FetchError(f"The calendar's host {host!r} could not be found.") from None
    allowed = [ipaddress.ip_network(net) for net in policy.allowed_networks]
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global and not any(address in net for net in allowed):
            raise FetchError("That address points inside a private network, which calendars can't be fetched from.")
    return str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch_feed(url: str, *, policy: FetchPolicy, etag: str | None = None,
               last_modified: str | None = None) -> FetchResult:
    url = normalize_feed_url(url)
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _checked_address(parts.hostname, port, policy)
        cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        conn = cls(parts.hostname, port, address, policy.timeout)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FetchError("The calendar's server sent a redirect without an address.")
                url = normalize_feed_url(urljoin(url, location))
                continue
            if response.status == 304:
                return FetchResult(304, b"", etag, last_modified)
            if response.status != 200:
                raise FetchError(f"The calendar's server answered {response.status} {response.reason}.")
            declared = response.getheader("Content-Length")
            size = whole_number(declared)  # a header may say anything, "²" included: the read below is capped
            if size is not None and size > policy.max_bytes:
                raise FetchError(_too_big(policy))
            body = response.read(policy.max_bytes + 1)
            if len(body) > policy.max_bytes:
                raise FetchError(_too_big(policy))
            return FetchResult(200, body, response.getheader("ETag"), response.getheader("Last-Modified"))
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"The calendar could not be reached ({exc.__class__.__name__}).") from None
        finally:
            conn.close()
    raise FetchError("The calendar's address redirected too many times.")


def _too_big(policy: FetchPolicy) -> str:
    return f"The calendar is larger than {policy.max_bytes // (1024 * 1024)} MB, the most we import."
