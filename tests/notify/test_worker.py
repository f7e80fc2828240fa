"""The push worker process: Apprise loads there, never in the agent; a dead, stuck or
idle worker costs no message; reasons come back without the URL's secrets."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pi_agent.config import Target
from pi_agent.notify.deliver import DeliveryError, PushWorker
from pi_agent.notify.outbox import Message
from pi_agent.notify.push import redact
from pi_agent.notify.worker import serve

from .receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]


def message(title: str = "hello") -> Message:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    return Message(1, "k", "t", "alarm", "urgent", title, "body", now, 0, 0, 0)


def test_sends_through_a_separate_process(receiver: Receiver) -> None:
    worker = PushWorker()
    try:
        worker(Target(receiver.url), message("one"))
        worker(Target(receiver.url), message("two"))
        assert worker.pid is not None and worker.pid != os.getpid()
        assert worker.started == 1  # a burst shares one worker
    finally:
        worker.close()
    assert receiver.titles() == ["one", "two"]


def test_the_agent_side_never_imports_apprise(receiver: Receiver, tmp_path: Path) -> None:
    """The delivery thread as the agent runs it, in a fresh interpreter."""
    script = f"""
import sys
from datetime import UTC, datetime
from pi_agent import config
from pi_agent.clock import SystemClock
from pi_agent.notify.deliver import Deliverer
from pi_agent.notify.outbox import Draft, Outbox, target_id
from pi_agent.store import Store
cfg = config.replace(config.Config(), "notify", targets=[{{"url": {receiver.url!r}}}])
cfg = config.replace(cfg, "store", path={str(tmp_path / "guard.db")!r})
store = Store(cfg.store.path)
Outbox(store).put(Draft("k", "alarm", "urgent", "from the agent", "b"),
                  target_id({receiver.url!r}), datetime.now(UTC))
d = Deliverer(cfg, SystemClock()).start()
import time
for _ in range(200):
    if not Outbox(store).pending():
        break
    time.sleep(0.05)
d.stop()
print("pending", len(Outbox(store).pending()), "apprise", "apprise" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["pending", "0", "apprise", "False"]
    assert receiver.titles() == ["from the agent"]


def test_an_idle_worker_ends(receiver: Receiver) -> None:
    worker = PushWorker(linger=0.3)
    worker(Target(receiver.url), message())
    proc = worker._proc
    assert worker.tidy() is not None  # just used: kept
    time.sleep(0.4)
    assert worker.tidy() is None and worker.pid is None
    assert proc is not None and proc.poll() == 0  # it ended on its own, not killed


def test_a_killed_worker_loses_nothing(receiver: Receiver) -> None:
    receiver.delay = 3.0
    worker = PushWorker()
    errors: list[DeliveryError] = []

    def send() -> None:
        try:
            worker(Target(receiver.url), message("slow"))
        except DeliveryError as exc:
            errors.append(exc)

    t = threading.Thread(target=send)
    t.start()
    for _ in range(100):
        if worker.pid is not None:
            break
        time.sleep(0.05)
    time.sleep(1.0)  # the worker is now inside the send
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    t.join(10)
    assert len(errors) == 1 and not errors[0].permanent and "exited" in str(errors[0])
    receiver.delay = 0.0
    worker(Target(receiver.url), message("again"))  # a new worker takes over
    worker.close()
    assert worker.started == 2
    assert "again" in receiver.titles()


def test_a_stuck_worker_is_killed_after_the_timeout(receiver: Receiver) -> None:
    receiver.delay = 5.0
    worker = PushWorker(timeout=0.5)
    start = time.monotonic()
    with pytest.raises(DeliveryError, match="no answer within"):
        worker(Target(receiver.url), message())
    assert time.monotonic() - start < 3
    assert worker.pid is None


def test_failures_come_back_without_secrets(receiver: Receiver) -> None:
    worker = PushWorker()
    try:
        with pytest.raises(DeliveryError) as bad:
            worker(Target("nosuchservice://TOKEN-abcdef-123456"), message())
        assert bad.value.permanent and "TOKEN-abcdef" not in str(bad.value)
        receiver.status = 500
        url = f"json://robot:S3cretPass99@127.0.0.1:{receiver.port}/hook?key=K3yK3yK3y"
        with pytest.raises(DeliveryError) as refused:
            worker(Target(url), message())
        text = str(refused.value)
        assert not refused.value.permanent
        assert "500" in text or "Internal Server Error" in text
        for secret in ("S3cretPass99", "K3yK3yK3y", "robot:"):
            assert secret not in text
    finally:
        worker.close()


def test_a_malformed_request_gets_an_answer_not_a_crash() -> None:
    out = io.StringIO()
    serve(io.StringIO('not json\n{"url": 3}\n'), out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["ok"] for a in answers] == [False, False]
    assert all(a["permanent"] for a in answers)


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("wecombot://0b2a1c5d-6f7e-4a1b-9c2d-3e4f5a6b7c8d",
         ["0b2a1c5d-6f7e-4a1b-9c2d-3e4f5a6b7c8d"]),
        ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321",
         ["AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "987654321"]),
        ("mailtos://shop:pa55word@mail.example.com?to=owner@example.com", ["pa55word"]),
        ("bark://api.day.app/Dev1ceKeyXYZ", ["Dev1ceKeyXYZ"]),
        ("schan://SCT12345abcdef", ["SCT12345abcdef"]),
    ],
)  # fmt: skip
def test_redact_takes_out_every_credential(url: str, secrets: list[str]) -> None:
    line = f"Failed to send to {url}: token {' '.join(secrets)} refused"
    cleaned = redact(line, url)
    for s in secrets:
        assert s not in cleaned
    assert cleaned.startswith("Failed to send to ***")
