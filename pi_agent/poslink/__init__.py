"""Sans-I/O PAX POSLink (the ECR protocol of PAX terminals): bytes in, typed messages out.

Nothing here reads a port or socket, sleeps or starts a thread. Layers: `framing`
(STX … ETX LRC, ACK/NAK/EOT), `fields` (field codecs, tolerant or strict), `messages`
(typed requests and responses), `codes` (response codes in en and zh-CN, type codes),
`exchange` (ECR state machine for one request/response), `terminal` (the PT side,
for a simulator). Every error raised is a `PosLinkError`.
"""

from .codes import Outcome, classify, describe
from .errors import (
    AmountError,
    ExchangeError,
    FieldError,
    FrameError,
    LrcError,
    PosLinkError,
    TimeoutExpired,
    TransmissionError,
)
from .exchange import EcrExchange, ExchangeResult, State, Timeouts
from .framing import FrameReader, encode_frame
from .messages import (
    BatchClose,
    BatchCloseResponse,
    ForceClose,
    ForceCloseResponse,
    Initialize,
    InitializeResponse,
    LocalDetail,
    LocalDetailResponse,
    LocalTotal,
    LocalTotalResponse,
    Reboot,
    RebootResponse,
    Request,
    Reset,
    ResetResponse,
    Response,
    SafSummary,
    SafSummaryResponse,
    SafUpload,
    SafUploadResponse,
    decode_request,
    decode_response,
)
from .terminal import TerminalSide

__all__ = [
    "AmountError", "BatchClose", "BatchCloseResponse", "EcrExchange", "ExchangeError",
    "ExchangeResult", "FieldError", "ForceClose", "ForceCloseResponse", "FrameError",
    "FrameReader", "Initialize", "InitializeResponse", "LocalDetail", "LocalDetailResponse",
    "LocalTotal", "LocalTotalResponse", "LrcError", "Outcome", "PosLinkError", "Reboot",
    "RebootResponse", "Request", "Reset", "ResetResponse", "Response", "SafSummary",
    "SafSummaryResponse", "SafUpload", "SafUploadResponse", "State", "TerminalSide",
    "TimeoutExpired", "Timeouts", "TransmissionError", "classify", "decode_request",
    "decode_response", "describe", "encode_frame",
]  # fmt: skip
