"""The function's network, as its VPC makes it (the sandbox's network table, README).

Loaded by bootstrap.py before the function's code. Each invocation brings the table
(`apply`); from then on:
- name lookups (socket.getaddrinfo, gethostbyname, gethostbyname_ex) are answered from
  `hosts`, or `defaultHost` for any other name, as the VPC's DNS would answer them;
- a connection to a virtual address (127.77.0.0/16) goes to the real loopback address that
  routes it, or to the tarpit (a listener that never answers a SYN) when nothing routes
  it: getaddrinfo hands back the routed socket address, and socket.connect redirects a
  literal virtual address;
- anything else is left alone. TLS keeps the name the code asked for (ssl's
  server_hostname is the caller's, not the address), so certificate checks see it.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

VIRTUAL = ipaddress.ip_network("127.77.0.0/16")
_table: dict[str, Any] = {"hosts": {}, "routes": {}, "defaultHost": None, "tarpit": None}
_original = {
    "getaddrinfo": socket.getaddrinfo,
    "gethostbyname": socket.gethostbyname,
    "gethostbyname_ex": socket.gethostbyname_ex,
    "connect": socket.socket.connect,
    "connect_ex": socket.socket.connect_ex,
}


def apply(table: dict[str, Any] | None) -> None:
    """Use this table from now on (each invocation sends the current one)."""
    _table.clear()
    _table.update({"hosts": {}, "routes": {}, "defaultHost": None, "tarpit": None})
    _table.update(table or {})
    _table["hosts"] = {k.lower().rstrip("."): v for k, v in (_table.get("hosts") or {}).items()}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def resolve(host: str | bytes | None) -> str | None:
    """The address the VPC's DNS gives `host`, or None to leave the lookup alone (IP
    literals, localhost, or no table)."""
    if host is None:
        return None
    name = (host.decode() if isinstance(host, bytes) else host).lower().rstrip(".")
    if not name or _is_ip(name) or name == "localhost":
        return None
    found = _table["hosts"].get(name)
    if found:
        return found
    # The longest matching suffix: bucket-style S3 and account-based DynamoDB names.
    for suffix in sorted(_table.get("suffixes") or {}, key=len, reverse=True):
        if name.endswith(suffix.lower()):
            return _table["suffixes"][suffix]
    return _table.get("defaultHost")


def is_virtual(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in VIRTUAL
    except ValueError:
        return False


def route(ip: str, port: int) -> tuple[str, int] | None:
    """Where a connection to virtual ip:port really goes; None when ip is not virtual or
    there is nowhere to send it (no table)."""
    if not is_virtual(ip):
        return None
    target = (_table.get("routes") or {}).get(f"{ip}:{port}") or _table.get("tarpit")
    if not target:
        return None
    real_ip, _, real_port = target.rpartition(":")
    return real_ip, int(real_port)


def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    virtual = resolve(name) or (name if isinstance(name, str) and is_virtual(name) else None)
    if virtual is None or family == socket.AF_INET6:
        return _original["getaddrinfo"](host, port, family, type, proto, flags)
    number = int(port) if port not in (None, "") and str(port).isdigit() else 0
    ip, real_port = route(virtual, number) or (virtual, number)
    kinds = [type] if type else [socket.SOCK_STREAM, socket.SOCK_DGRAM]
    return [(socket.AF_INET, kind, proto or (socket.IPPROTO_TCP if kind == socket.SOCK_STREAM else socket.IPPROTO_UDP),
             "", (ip, real_port)) for kind in kinds]


def gethostbyname(host: str) -> str:
    return resolve(host) or _original["gethostbyname"](host)


def gethostbyname_ex(host: str) -> tuple[str, list[str], list[str]]:
    found = resolve(host)
    return (host, [], [found]) if found else _original["gethostbyname_ex"](host)


def _redirect(address: Any) -> Any:
    if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[0], str):
        target = route(address[0], int(address[1]))
        if target:
            return target
    return address


def _connect(self: socket.socket, address: Any) -> None:
    return _original["connect"](self, _redirect(address))


def _connect_ex(self: socket.socket, address: Any) -> int:
    return _original["connect_ex"](self, _redirect(address))


def install() -> None:
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
