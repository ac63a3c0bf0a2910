"""Per-client rate limit for ingest: a token bucket per client, refused requests get 429 and Retry-After.

A request is admitted or refused before its body is read, so a refusal never drops accepted data: nothing
of a refused batch reaches the bus and the producer sends the same batch again after Retry-After.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import HTTPException, Request

from app.deps import User

# Largest page offset a list route takes. The databases' integers are 64-bit: an offset of 2**63 made
# SQLite raise OverflowError, a 500 (found by schemathesis). No list has two billion rows to skip.
MAX_OFFSET = 2**31 - 1


class TokenBuckets:
    """``rate`` requests per second per client, with bursts up to ``burst``; ``rate`` 0 switches it off."""

    def __init__(
        self, rate: float, burst: int, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one token; 0.0 if the request may go ahead, otherwise the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            # The least recently seen clients are forgotten first; a forgotten client starts with a full
            # bucket, which errs on the side of accepting data.
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        return wait


def client_key(request: Request, user: User) -> str:
    """Who is limited: the API user and, while every caller is the same local operator, the address."""
    host = request.client.host if request.client else "unknown"
    return f"{user.name}@{host}"


def check_ingest_rate(request: Request, user: User, rate: float, burst: int) -> None:
    """Raise 429 with Retry-After when this client is over its ingest rate."""
    buckets: TokenBuckets | None = getattr(request.app.state, "ingest_buckets", None)
    if buckets is None or (buckets.rate, buckets.burst) != (rate, max(1, burst)):
        buckets = request.app.state.ingest_buckets = TokenBuckets(rate, burst)
    wait = buckets.take(client_key(request, user))
    if wait > 0:
        raise HTTPException(
            429,
            f"more than {rate:g} ingest requests per second (burst {burst}); nothing of this request was"
            " accepted, send it again after Retry-After seconds",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


# All sign-in attempts together, whatever the account: a spray of made-up usernames passes the per-account
# limit, and each attempt holds argon2's 64 MiB while it runs. A crisis room's staff sign in far slower.
SIGN_IN_TOTAL_RATE = 5.0
SIGN_IN_TOTAL_BURST = 20


def check_sign_in_rate(request: Request, username: str, rate: float, burst: int) -> None:
    """Raise 429 with Retry-After when this account is tried too often, or sign-ins come too fast overall.

    Per account, not per address: the dashboard signs its users in from its own address, so a limit per
    address would be one limit for the whole crisis room.
    """
    state = request.app.state
    buckets: TokenBuckets | None = getattr(state, "sign_in_buckets", None)
    if buckets is None or (buckets.rate, buckets.burst) != (rate, max(1, burst)):
        buckets = state.sign_in_buckets = TokenBuckets(rate, burst)
        state.sign_in_total = TokenBuckets(SIGN_IN_TOTAL_RATE if rate > 0 else 0, SIGN_IN_TOTAL_BURST)
    wait = max(buckets.take(username.strip().lower()), state.sign_in_total.take("all"))
    if wait > 0:
        raise HTTPException(
            429,
            "too many sign-in attempts; try again after Retry-After seconds",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
