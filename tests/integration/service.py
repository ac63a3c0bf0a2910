"""Run `signaal serve` as a real process on a free port, as a user would, and talk to it over HTTP.

The service's output goes to a log file of its own under ``.local/service-logs/`` (kept after the run), and a
test that fails inside ``running_service`` gets the tail of that log in its error report.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
LOG_DIR = REPO / ".local" / "service-logs"
LOG_TAIL_LINES = 80


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningService:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines the service wrote, headed by the log's path, for failure messages."""
        return log_tail(self.log, lines)

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


def service_env(**env_overrides: str) -> dict[str, str]:
    """This process's environment without a Kafka or database of the developer's, plus ``env_overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    env.update(env_overrides)
    return env


def wait_until_answering(process: subprocess.Popen[bytes], url: str, what: str, timeout_s: float) -> None:
    """Wait until ``url`` answers 200; fail at once if ``process`` exits first."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become ready within {timeout_s:g} s")
        time.sleep(0.2)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"(no service log at {path}: {error})"
    return f"--- last {lines} lines of {path} ---\n" + "\n".join(text.splitlines()[-lines:])


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 15) -> None:
    """Ask the process to stop; kill it if it has not within ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextmanager
def running_service(**env_overrides: str) -> Iterator[RunningService]:
    port = free_port()
    env = service_env(SIGNAAL_PORT=str(port), SIGNAAL_API_URL=f"http://127.0.0.1:{port}", **env_overrides)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"serve-{time.strftime('%Y%m%d-%H%M%S')}-{port}.log"
    with log.open("wb") as sink:
        command = [sys.executable, "-m", "app.cli", "serve"]
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
    service = RunningService(f"http://127.0.0.1:{port}", env, process, log)
    try:
        wait_until_answering(process, service.url + "/readyz", "signaal serve", timeout_s=60)
        yield service
    except BaseException as error:
        stop_process(process)  # first, so the tail includes how it shut down
        error.add_note(service.log_tail())
        raise
    finally:
        stop_process(process)


@contextmanager
def running_dashboard(
    api_url: str, env: Mapping[str, str] | None = None, *, ready_path: str = "/"
) -> Iterator[str]:
    """`signaal dashboard` as its own process, as a user starts it, reading from the service at ``api_url``
    (with ``env``, the service's environment say, or else this process's). Yields the dashboard's base URL
    once ``ready_path`` answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "dashboard", "--port", str(port), "--api-url", api_url],
        env=env, cwd=REPO,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(process, url + ready_path, "signaal dashboard", timeout_s=30)
        yield url
    finally:
        stop_process(process, timeout_s=10)
