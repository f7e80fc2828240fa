"""A real Mosquitto for the fleet's tests, on a free loopback port, stopped at teardown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_agent.fleet.simulate import LocalBroker


def start_broker(folder: Path, **options: object) -> LocalBroker:
    try:
        broker = LocalBroker(folder, **options)  # type: ignore[arg-type]
    except FileNotFoundError as exc:
        pytest.fail(f"the fleet's tests need Mosquitto: {exc}", pytrace=False)
    return broker.start()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[LocalBroker]:
    """host, port, url; stop() and start() again on the same port."""
    broker = start_broker(tmp_path)
    try:
        yield broker
    finally:
        broker.stop()
