"""Run `signaal serve` as a real process on a free port, as a user would, and talk to it over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningService:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def get(self, path: str, **params: object) -> dict:
        response = httpx.get(self.url + path, params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def pipeline(self) -> dict:
        return self.get("/api/status")["pipeline"]

    def wait_until_processed(self, received: int, rejected: int = 0, timeout_s: float = 90) -> dict:
        """Wait until the consumer has handled this many posts and dead letters since it started."""
        deadline = time.monotonic() + timeout_s
        while True:
            counts = self.pipeline()
            if counts["received"] >= received and counts["rejected"] >= rejected:
                return counts
            if time.monotonic() > deadline:
                raise AssertionError(f"consumer did not catch up within {timeout_s} s: {counts}")
            time.sleep(0.2)

    def signaal(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        """Run another `signaal` command with the same configuration as the service."""
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            env=self.env, cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=True,
        )  # fmt: skip


@contextmanager
def running_service(**env_overrides: str) -> Iterator[RunningService]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    env.update({"SIGNAAL_PORT": str(port), "SIGNAAL_API_URL": f"http://127.0.0.1:{port}", **env_overrides})
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], env=env, cwd=REPO)
    service = RunningService(f"http://127.0.0.1:{port}", env, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"signaal serve exited with {process.returncode}")
            try:
                if httpx.get(service.url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("signaal serve did not become ready within 60 s")
            time.sleep(0.2)
        yield service
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
