from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streams.formats import RawRecord
from streams.replay import ReplayReport, Timeline, build_timeline, replay

T0 = datetime(2012, 9, 21, 18, 0, tzinfo=UTC)


class Recorder:
    """A target that remembers when (on the fake clock) each record was sent."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.sent: list[tuple[float, str]] = []

    def send(self, records: Sequence[RawRecord]) -> tuple[int, int]:
        self.sent += [(self.clock[0], r.source) for r in records]
        return len(records), 0

    def close(self) -> None:
        pass


def _timeline(offsets_s: list[float]) -> Timeline:
    timed = [(T0 + timedelta(seconds=s), RawRecord(f"f:{i}", "{}", "jsonl")) for i, s in enumerate(offsets_s)]
    return Timeline(timed, broken=[RawRecord("f:broken", "{", "jsonl")])


def _run(offsets_s: list[float], speed: float | None, max_gap_s: float | None = None) -> Recorder:
    clock = [0.0]
    target = Recorder(clock)

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    report = replay(_timeline(offsets_s), target, speed, max_gap_s, sleep=sleep, clock=lambda: clock[0])
    assert report == ReplayReport(accepted=len(offsets_s) + 1, rejected=0)
    return target


def test_broken_records_go_first_then_event_time_at_speed() -> None:
    target = _run([0, 60, 120, 600], speed=60)
    assert target.sent == [(0.0, "f:broken"), (0.0, "f:0"), (1.0, "f:1"), (2.0, "f:2"), (10.0, "f:3")]


def test_max_speed_never_waits() -> None:
    assert {t for t, _ in _run([0, 3600, 7200], speed=None).sent} == {0.0}


def test_long_quiet_gaps_are_capped_but_busy_stretches_keep_their_pace() -> None:
    target = _run([0, 30, 36_000, 36_030], speed=60, max_gap_s=1.0)
    assert [t for t, _ in target.sent[1:]] == [0.0, 0.5, 1.5, 2.0]


def test_timeline_sorts_files_by_event_time_and_sets_aside_broken_records(tmp_path: Path) -> None:
    def line(post_id: str, minute: int) -> str:
        record = {
            "platform": "t",
            "id": post_id,
            "author": "a",
            "created_at": f"2012-09-21T18:{minute:02d}:00Z",
        }
        return json.dumps({**record, "text": "x"})

    (tmp_path / "a.jsonl").write_text(line("late", 30) + "\n{broken\n" + line("early", 10) + "\n")
    (tmp_path / "b.jsonl").write_text(line("middle", 20) + "\n")
    timeline = build_timeline([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert [json.loads(r.text)["id"] for _, r in timeline.timed] == ["early", "middle", "late"]
    assert [r.source.split("/")[-1] for r in timeline.broken] == ["a.jsonl:2"]
