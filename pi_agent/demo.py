"""`make demo` until the guard exists: the simulator on a pty and a readable transcript of
status, totals, registration, a settlement, a noisy line and an unplugged cable."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from .money import format_amount
from .sim import SimServer, SimTerminal
from .terminal import BatchTotals, Outcome, Progress
from .terminal.zvt import ZvtTerminal
from .zvt.timers import Timeouts

SALES = [
    (1250, "visa"), (4590, "girocard"), (899, "mastercard"), (2300, "girocard"),
    (15000, "amex"), (640, "visa"), (3120, "girocard"), (999, "mastercard"),
]  # fmt: skip


def _step(number: int, title: str) -> None:
    print(f"\n[{number}] {title}", flush=True)


def _batch(totals: BatchTotals) -> str:
    noun = "transaction" if totals.count == 1 else "transactions"
    receipts = ""
    if totals.first_receipt:
        receipts = f", receipts {totals.first_receipt:04d}-{totals.last_receipt:04d}"
    return f"{totals.count} {noun}, {format_amount(totals.total, totals.currency)}{receipts}"


def run_demo(trace: bool = False, sales: int = 6) -> int:
    sales = max(0, min(sales, len(SALES)))
    timeouts = Timeouts(t2=1.0, t3=2.0, t4=10.0)

    def show_bytes(direction: str, data: bytes) -> None:
        arrow = "ECR -> PT" if direction == "out" else "PT -> ECR"
        print(f"      {arrow}  {data.hex(' ')}")

    with tempfile.TemporaryDirectory(prefix="settle-guard-demo-") as tmp:
        link = Path(tmp) / "terminal"
        log: list[str] = []
        with SimServer(SimTerminal(), link=link, timeouts=timeouts, log=log.append) as sim:
            print("SettleGuard demo: the built-in ZVT terminal simulator on a pseudo-terminal")
            print(f"simulator port {sim.slave_path} (stable link {link})")
            terminal = ZvtTerminal(
                str(link),
                timeouts=timeouts,
                backoff=(0.1, 0.5),
                trace=show_bytes if trace else None,
            )
            try:
                if not terminal.wait_connected(5):
                    print(f"cannot connect: {terminal.link.last_error}")
                    return 3
                _step(1, "Status enquiry (05 01)")
                status = terminal.status()
                print(
                    f"    terminal {status.text} ({status.code:02X}) / {status.text_zh}, "
                    f"software {status.software_version}"
                )

                _step(2, "Registration (06 00): receipts and menus stay on the terminal")
                reg = terminal.register()
                print(f"    registered, terminal id {reg.terminal_id}")

                _step(3, f"{sales} card payments arrive at the counter")
                for amount, card in SALES[:sales]:
                    receipt = sim.terminal.add_sale(amount, card)
                    print(f"    receipt {receipt:04d}  {card:<11} {format_amount(amount, 978):>12}")

                _step(4, "Send turnover totals (06 10): read the open batch without closing it")
                before = terminal.totals()
                print(f"    open batch: {_batch(before)}")
                for c in before.cards:
                    if c.count:
                        print(
                            f"      {c.card:<11} {c.count:>3}  {format_amount(c.amount, 978):>12}"
                        )

                _step(5, "End-of-day (06 50): settle the batch")

                def progress(p: Progress) -> None:
                    print(f"    ... {p.text} / {p.text_zh}", flush=True)

                result = terminal.settle(progress)
                if result.outcome is not Outcome.OK or result.totals is None:
                    why = result.result_text or result.error
                    print(f"    settlement {result.outcome.value}: {why}")
                    return 1
                print(f"    settled: {_batch(result.totals)}")
                same = result.totals.total == before.total and result.totals.cards == before.cards
                print(f"    settled totals equal the totals read before: {'yes' if same else 'NO'}")
                print(f"    open batch afterwards: {_batch(terminal.totals())}")

                _step(6, "A noisy line: the terminal's next frame arrives with a bad CRC")
                sim.inject("crc:1")
                status = terminal.status()
                naks = terminal.line_counters()["naks_sent"]
                print(f"    we answered NAK ({naks} so far), the terminal repeated: {status.text}")

                _step(7, "The cable is pulled for a second")
                sim.inject("unplug:1")
                t0 = time.monotonic()
                while terminal.connected and time.monotonic() - t0 < 3:
                    time.sleep(0.02)
                print(f"    link: {terminal.link.state.value} ({terminal.link.last_error})")
                if not terminal.wait_connected(10):
                    print("    did not come back")
                    return 3
                took = time.monotonic() - t0
                print(f"    back after {took:.1f} s, re-checked: {terminal.status().text}")
            finally:
                terminal.close()
        print("\nsimulator log:")
        for line in log:
            print(f"    {line}")
    print("\ndemo finished: the guard itself (warnings, auto-settle, OLED) is not built yet")
    return 0
