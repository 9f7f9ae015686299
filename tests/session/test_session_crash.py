"""Crash test: a writer SIGKILLed at random moments never loses an event whose append returned."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from rsdeploy_tui.checklist.model import Checklist
from rsdeploy_tui.session import SessionStore

ROUNDS = 200
ROUNDS_PER_SESSION = 25  # keeps each journal small so the whole test stays fast


def writer(store: SessionStore, session_id: str, report: int) -> None:
    """Child: resume the session and append notes forever, reporting each returned append."""
    session = store.open(session_id, operator="crash")
    n = 0
    while True:
        n += 1
        event = session.record("note", "pre.notify", text=f"note {n}")
        os.write(report, f"{event.seq}\n".encode())


@pytest.mark.slow
def test_kill_at_random_moments(store: SessionStore, checklist: Checklist) -> None:
    rng = random.Random(20261126)
    torn_seen = 0
    session_id = ""
    expected: dict[int, str] = {}
    for round_number in range(ROUNDS):
        if round_number % ROUNDS_PER_SESSION == 0:
            session = store.create(checklist, operator="crash")
            session_id, expected = session.id, {}
            session.close()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(read_end)
            try:
                writer(store, session_id, write_end)
            finally:
                os._exit(1)
        os.close(write_end)
        time.sleep(rng.uniform(0.0, 0.02))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(read_end, "rb") as pipe:
            returned = [int(line) for line in pipe.read().splitlines()]

        side_files = set((store.root / session_id).glob("events.jsonl.torn-*"))
        session = store.open(session_id, operator="checker")
        by_seq = {event.seq: event for event in session.events}
        for seq in returned:  # every append that returned is on disk
            assert seq in by_seq, f"round {round_number}: event {seq} lost"
            text = by_seq[seq].data["text"]
            expected[seq] = text
        for seq, text in expected.items():  # and stays there, unchanged
            assert by_seq[seq].data["text"] == text
        new_side = set((store.root / session_id).glob("events.jsonl.torn-*")) - side_files
        assert len(new_side) <= 1  # at most the torn tail is set aside
        if new_side:
            torn_seen += 1
            assert b"\n" not in next(iter(new_side)).read_bytes().rstrip(b"\n")
        if returned:  # the child held the lock when it died: taken over, and recorded
            assert session.events[-1].kind == "lock_taken_over"
            assert session.events[-1].data["from_user"] == "crash"
        session.close()
    print(f"{ROUNDS} rounds, {torn_seen} torn tails set aside")
