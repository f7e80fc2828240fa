"""Sans-I/O ZVT (ECR interface of German/European card terminals): bytes in, typed messages out.

Nothing here reads a port, sleeps or starts a thread; `terminal/` does the I/O.
Layers: `crc`/`framing` (serial frames, ACK/NAK), `transport` (three sends),
`apdu`/`bmp`/`tlv`/`messages` (codec), `dialogue` (ECR state machine),
`timers` (T1-T4 as data), `codes` (result/status texts in en and zh-CN).
"""

from .apdu import Apdu
from .dialogue import DialogueEnded, DialogueResult, EcrConnection, State
from .errors import (
    ApduError,
    BmpError,
    CrcError,
    DialogueError,
    FrameError,
    MessageError,
    TimeoutExpired,
    TlvError,
    TransmissionError,
    ZvtError,
)
from .framing import encode_frame
from .timers import Armed, Timeouts, TimerBook

__all__ = [
    "Apdu",
    "ApduError",
    "Armed",
    "BmpError",
    "CrcError",
    "DialogueEnded",
    "DialogueError",
    "DialogueResult",
    "EcrConnection",
    "FrameError",
    "MessageError",
    "State",
    "TimeoutExpired",
    "Timeouts",
    "TimerBook",
    "TlvError",
    "TransmissionError",
    "ZvtError",
    "encode_frame",
]  # fmt: skip
