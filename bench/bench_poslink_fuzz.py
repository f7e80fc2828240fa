"""POSLink fuzz benchmark: 1,000,000 mutated frames through the frame reader, the decoders
and an ECR exchange; prints the time and how often each kind of error turned up.

Anything raised that is not a `PosLinkError` aborts the run with the offending bytes.
Not run by the tests. Usage: python bench/bench_poslink_fuzz.py [frames] [seed]
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pi_agent.poslink.errors import PosLinkError
from pi_agent.poslink.exchange import EcrExchange, Ended
from pi_agent.poslink.framing import FrameReceived, FrameRejected, encode_frame
from pi_agent.poslink.messages import (
    AmountInfo,
    BatchClose,
    BatchCloseResponse,
    HostInfo,
    InitializeResponse,
    LocalDetailResponse,
    LocalTotalResponse,
    SafSummary,
    TraceInfo,
    decode_request,
    decode_response,
)

SEEDS = [
    encode_frame(m.encode())
    for m in (
        BatchClose(timestamp="20250101120000"),
        SafSummary(),
        InitializeResponse(serial_number="53012345", model="A920", os_version="7.1"),
        BatchCloseResponse(
            host=HostInfo(resp_code="000000", batch_number="42"),
            total_count=(3, 1, 0, 0, 0, 0, 0),
            total_amount=(1500, 200, 0, 0, 0, 0, 0),
            timestamp="20250101020000",
            tid="T1",
            mid="M1",
        ),
        LocalDetailResponse(
            total_records=5,
            record_number=0,
            amount=AmountInfo(approved=1250, tip=100),
            trace=TraceInfo(trans_number="17", timestamp="20250101120000"),
        ),
        LocalTotalResponse(edc_type="00", totals=((2, 300, 0, 0), (1, 100))),
    )
]
SPECIAL = b"\x02\x03\x04\x06\x15\x1c\x1f=&.-"


def mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randint(0, len(data))
        op = rng.random()
        if op < 0.4 and pos < len(data):
            data[pos] ^= rng.randint(1, 255)
        elif op < 0.7:
            data[pos:pos] = bytes([rng.choice(SPECIAL)])
        elif op < 0.9 and pos < len(data):
            del data[pos]
        else:
            del data[pos:]
    return bytes(data)


def main() -> None:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    kinds: Counter[str] = Counter()
    exchange = EcrExchange()
    started = time.perf_counter()
    for _ in range(frames):
        data = mutate(rng, rng.choice(SEEDS))
        try:
            for event in exchange.reader.feed(data):
                if isinstance(event, FrameRejected):
                    kinds[type(event.error).__name__] += 1
                elif isinstance(event, FrameReceived):
                    kinds["frame intact"] += 1
                    for decode in (decode_request, decode_response):
                        try:
                            decode(event.body)
                        except PosLinkError as exc:
                            kinds[f"{decode.__name__}: {type(exc).__name__}"] += 1
                else:
                    kinds[type(event).__name__] += 1
            # The same bytes through a live exchange: it must end or keep waiting, never raise.
            if exchange.state.value in ("idle", "done"):
                exchange.send(BatchClose())
            for event in exchange.receive_data(data):
                if isinstance(event, Ended):
                    outcome = "completed" if event.result.completed else "failed"
                    kinds[f"exchange {outcome}"] += 1
            exchange.data_to_send()
        except PosLinkError as exc:
            kinds[f"raised {type(exc).__name__}"] += 1
        except Exception:
            print(f"non-POSLink error for {data.hex(' ')}", file=sys.stderr)
            raise
    elapsed = time.perf_counter() - started
    print(f"{frames:,} mutated frames in {elapsed:.1f} s ({frames / elapsed:,.0f} frames/s)")
    for kind, count in kinds.most_common():
        print(f"  {count:>9,}  {kind}")


if __name__ == "__main__":
    main()
