"""The command line on PAX POSLink: subprocesses against the POSLink simulator over a real
pty, TCP and HTTP; `--json` keeps ZVT's schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pi_agent.sim.poslink_server import PosLinkServer
from pi_agent.sim.poslink_terminal import PosLinkTerminal

from .test_cli import SimProcess, run


@pytest.fixture
def pax(tmp_path: Path) -> Iterator[PosLinkServer]:
    with PosLinkServer(PosLinkTerminal(), link=tmp_path / "pax", tcp=True, http=True,
                       ack_delay=0.0) as server:  # fmt: skip
        server.terminal.add_transaction(1250)
        server.terminal.add_transaction(730, edc="02", card_type="02")
        yield server


def ports(pax: PosLinkServer) -> list[str]:
    return [pax.url, f"socket://127.0.0.1:{pax.port}", f"http://127.0.0.1:{pax.http_port}"]


def test_status_and_totals_over_every_carrier(pax: PosLinkServer) -> None:
    for port in ports(pax):
        status = run("status", "--protocol", "poslink", "--port", port)
        assert status.returncode == 0, status.stderr
        assert "OK (000000)" in status.stdout and "terminal id 53012345" in status.stdout
        totals = run("totals", "--protocol", "poslink", "--port", port, "--json")
        assert totals.returncode == 0, totals.stderr
        data = json.loads(totals.stdout)
        assert (data["count"], data["total_minor"], data["batch_number"]) == (2, 1980, 1)


def test_json_has_one_schema_for_every_protocol(pax: PosLinkServer, tmp_path: Path) -> None:
    zvt = SimProcess(tmp_path)
    try:
        zvt.control("sale 5.00 visa")
        for command in ("status", "totals"):
            ours = run(command, "--protocol", "poslink", "--port", pax.url, "--json")
            theirs = run(command, "--port", zvt.url, "--json")
            assert set(json.loads(ours.stdout)) == set(json.loads(theirs.stdout)), command
    finally:
        zvt.close()


def test_settle_with_offline_payments_and_a_decline(pax: PosLinkServer) -> None:
    pax.inject("host-down")
    declined = run("settle", "--protocol", "poslink", "--port", pax.url, "--yes")
    assert declined.returncode == 1, declined.stdout + declined.stderr
    assert "declined by host (000100)" in declined.stdout
    pax.clear_faults()
    pax.terminal.add_transaction(500, offline=True)
    done = run("settle", "--protocol", "poslink", "--port", pax.url, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == "ok" and result["result_code"] == "000000"
    assert result["totals"]["total_minor"] == 2480  # the offline payment went with it
    assert pax.terminal.settled == [(1, 3, 2480)]


def test_commands_poslink_has_not_are_usage_errors(pax: PosLinkServer) -> None:
    for command in ("diag", "init"):
        done = run(command, "--protocol", "poslink", "--port", pax.url)
        assert done.returncode == 2 and "poslink terminals cannot do this" in done.stderr
    forced = run("settle", "--force", "--port", pax.url)  # ZVT by default: no force close
    assert forced.returncode == 2 and "force-settle" in forced.stderr


def test_force_close_always_asks_a_person(pax: PosLinkServer, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[terminal]\nprotocol = "poslink"\nport = "{pax.url}"\n'
        f'[store]\npath = "{tmp_path / "guard.db"}"\n'
    )
    unattended = run("settle", "--force", "--yes", "--config", str(config))
    assert unattended.returncode == 6 and pax.terminal.settled == []
    assert pax.terminal.snapshot()["count"] == 2
