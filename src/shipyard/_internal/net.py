"""Network checks a server makes before it announces itself."""

from __future__ import annotations

import errno
import socket

from shipyard.errors import Conflict


def ensure_port_free(host: str, port: int) -> None:
    """Fail with one clear line when ``host:port`` cannot be bound (another server has it).

    Binds the way uvicorn does (``SO_REUSEADDR``), so a port in TIME_WAIT is not reported.

    Raises:
        Conflict: the port is in use; the message names it and what to do.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return  # let the server report an unresolvable host itself
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return
            raise Conflict(
                f"port {port} on {host} is already in use: pass --port with a free port, "
                "or stop the process that holds it",
                port=port,
                host=host,
            ) from None
