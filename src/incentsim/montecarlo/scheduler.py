"""Connecting to a running Dask scheduler, with a clear error when its address is wrong.

A malformed address (``tcp://host:port`` with a port that is not a number, an unknown scheme)
and a scheduler that does not answer within :data:`CONNECT_TIMEOUT` seconds both raise a
:class:`SchedulerError` that names the address, instead of distributed's traceback after its
30-second default.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import socket
from typing import Any

from incentsim.errors import IncentsimError

#: Seconds to wait for a scheduler to answer.
CONNECT_TIMEOUT = 5.0

#: Schemes whose address is a TCP host and port (checked with a plain socket first).
_TCP_SCHEMES = ("tcp", "tls", "ws", "wss")


class SchedulerError(IncentsimError):
    """A Dask scheduler address that is malformed or does not answer."""


def connect(address: str, timeout: float = CONNECT_TIMEOUT) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address``.

    Raises
    ------
    SchedulerError
        ``address`` is not a scheduler address, or nothing answers there within ``timeout``
        seconds.
    """
    # optional (incentsim[dask]): loaded only for the Dask executor
    from distributed import Client
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(address)
        get_backend(scheme)
        host, port = parse_host_port(location) if scheme in _TCP_SCHEMES else (None, None)
        if scheme in _TCP_SCHEMES and port is None:
            raise ValueError("no port")
    except (ValueError, TypeError) as exc:
        raise SchedulerError(
            f"'{address}' is not a Dask scheduler address ({exc}); expected tcp://HOST:PORT, "
            "e.g. tcp://127.0.0.1:8786"
        ) from None
    try:
        if host is not None:  # fail fast (and quietly) when no one listens there
            socket.create_connection((host, port), timeout=timeout).close()
        # distributed waits for the scheduler's handshake without a time limit: shake hands
        # under ours first (in a thread of its own, so it works inside a notebook's loop too).
        with cf.ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, _handshake(address, timeout)).result()
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
            f"({exc or 'no answer'}); is it running, and is the address right?"
        ) from None
    except Exception as exc:  # something answers there, but not as a Dask scheduler does
        raise SchedulerError(
            f"no Dask scheduler answered at {address} ({type(exc).__name__}: {exc}); is the "
            "address right?"
        ) from None


async def _handshake(address: str, timeout: float) -> None:
    """Connect to ``address`` and exchange distributed's handshake within ``timeout`` s."""
    # optional (incentsim[dask]): loaded only for the Dask executor
    from distributed.comm.core import connect as open_comm

    comm = await asyncio.wait_for(open_comm(address, timeout=timeout), timeout)
    await comm.close()
