"""`signaal demo`, the README's first command: service, dashboard and a replayed Project X scenario.

The demo runs as the README runs it (a process tree on the embedded default) on free ports, fast. Stopping
it the way process managers and closed terminals do (SIGTERM, SIGHUP) must stop its service and dashboard
too: left running, they held the ports and the next demo replayed into the old one.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.config import REPO_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_demo(tmp_path: Path, api: int, dash: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNAAL_")}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "app.cli", "demo", "--port", str(api), "--dashboard-port", str(dash)]
    command += ["--speed", "20000", "--workdir", str(tmp_path)]
    return subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def read_until(process: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            seen.append(line)
            if marker in line:
                return "".join(seen)
        if process.poll() is not None:
            break
    raise AssertionError(f"no {marker!r} from the demo; it printed:\n{''.join(seen)[-3000:]}")


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_the_demo_runs_the_scenario_and_stops_whole(tmp_path: Path, stop_with: signal.Signals) -> None:
    api, dash = free_port(), free_port()
    demo = start_demo(tmp_path, api, dash)
    try:
        read_until(demo, "Signaal demo is running", 120)
        assert httpx.get(f"http://127.0.0.1:{dash}/rumours", timeout=10).status_code == 200
        # The scenario flows in: posts are stored and the alerts of its incident appear.
        deadline = time.monotonic() + 120
        alerts: list[dict[str, object]] = []
        while time.monotonic() < deadline and not alerts:
            time.sleep(1)
            alerts = httpx.get(f"http://127.0.0.1:{api}/api/alerts", timeout=10).json()["items"]
        assert alerts, "the demo's scenario raised no alert"
        assert httpx.get(f"http://127.0.0.1:{api}/api/posts?limit=1", timeout=10).json()["total"] > 0

        demo.send_signal(stop_with)
        assert demo.wait(30) == 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (in_use(api) or in_use(dash)):
            time.sleep(0.2)
        assert not in_use(api) and not in_use(dash), "the demo's service or dashboard outlived it"
    finally:
        if demo.poll() is None:
            demo.kill()


def test_a_demo_on_a_port_in_use_says_so_instead_of_feeding_whatever_answers(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = start_demo(tmp_path, port, free_port())
        output, _ = demo.communicate(timeout=60)
    assert demo.returncode != 0
    assert f"port {port} is already in use" in output
