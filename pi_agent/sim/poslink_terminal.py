"""The simulated PAX POSLink terminal's state and answers, without I/O.

An open batch of transactions in two stores as on a PAX terminal: the normal
database (trans numbers 1-5000) and the SAF store of offline approvals (5001-9000,
failed uploads 9001-9999). `handle(request)` answers one decoded request with one
typed response: A00 status, R00 totals, R02 one detail record, R10 SAF summary,
B08 SAF upload, B00 batch close, B02 force close, A16 reset, A26 reboot.

Model choices where the sources are silent: R00/R02 report the normal database
only (SAF records show in R10 until uploaded); B00 uploads SAF first, as the
terminal does at batch close; trans numbers run on across batches and wrap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..poslink.codes import CARD_TYPES, EDC_GROUPS, SAF_FAILED, SAF_STORED, TOTALS_LAYOUT, Edc
from ..poslink.fields import format_timestamp, parse_timestamp
from ..poslink.messages import (
    AccountInfo,
    AmountInfo,
    BatchClose,
    BatchCloseResponse,
    ForceClose,
    ForceCloseResponse,
    HostInfo,
    Initialize,
    InitializeResponse,
    LocalDetail,
    LocalDetailResponse,
    LocalTotal,
    LocalTotalResponse,
    OtherResponse,
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
    TraceInfo,
    response_command,
)

NORMAL_CAPACITY = 5000
# Totals kind -> trans type code; loyalty "redeem" is its sale.
KIND_TRANS_TYPE = {
    "sale": "01", "redeem": "01", "return": "02", "auth": "03", "postauth": "04",
    "forced": "05", "adjust": "06", "withdrawal": "07", "activate": "08", "issue": "09",
    "add": "10", "cashout": "11", "deactivate": "12",
}  # fmt: skip
# R11 per-card-type order (POSLink 2 headers): Visa, MC, Amex, Diners, Discover, JCB,
# enRoute, extended (other), fleet (all fleet cards).
SAF_CARD_ORDER: tuple[tuple[str, ...], ...] = (
    ("01",), ("02",), ("03",), ("05",), ("04",), ("07",), ("06",), ("08", "99"),
    ("09", "10", "11", "12", "13", "14", "15", "16"),
)  # fmt: skip
# Real POSLink commands the simulator knows of but does not play: 100004, not 100027.
KNOWN_UNSUPPORTED = frozenset(
    {"A02", "A04", "A14", "B04", "B10", "R04", "R06", "R08"} | {f"T{n:02d}" for n in range(13)}
)
NO_TRANS = "NO TRANS AVAILABLE"


@dataclass(frozen=True, slots=True)
class Transaction:
    edc: str  # "01" credit ... "07" check
    trans_type: str  # "01" sale, "02" return, ...
    card_type: str  # "01" Visa, "02" MC, ...
    amount: int  # cents
    trans_number: int
    auth_code: str
    timestamp: str  # YYYYMMDDhhmmss
    ecr_reference: str = ""
    account: str = "4111"  # last four digits

    @property
    def saf(self) -> bool:
        return self.trans_number in SAF_STORED or self.trans_number in SAF_FAILED


class PosLinkTerminal:
    """Answers POSLink requests as a PAX terminal would. Every public method is thread-safe."""

    def __init__(
        self,
        *,
        serial_number: str = "53012345",
        model: str = "A920",
        os_version: str = "7.1",
        tid: str = "TID00001",
        mid: str = "MID000000000001",
        batch_number: int = 1,
        capacity: int = NORMAL_CAPACITY,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.serial_number, self.model, self.os_version = serial_number, model, os_version
        self.tid, self.mid = tid, mid
        self.batch_number = batch_number
        self.capacity = capacity
        self._clock = clock
        self.normal: list[Transaction] = []
        self.saf_records: list[Transaction] = []
        # host-side conditions, switched by the server's faults
        self.host_down = False
        self.out_of_balance = False
        self.db_full = False
        self.cleared_without_settle = 0
        self.settled: list[tuple[int, int, int]] = []  # (batch number, count, amount)
        self._next = {"normal": 1, "saf": SAF_STORED.start, "failed": SAF_FAILED.start}
        self._auth = 0
        self._lock = threading.RLock()

    # -- control

    def timestamp(self) -> str:
        return format_timestamp(self._clock())

    def add_transaction(
        self,
        amount: int,
        *,
        edc: str = "01",
        trans_type: str = "01",
        card_type: str = "01",
        offline: bool = False,
        ecr_reference: str = "",
    ) -> Transaction:
        """A payment taken at the terminal; `offline` stores it for upload (SAF, 000001)."""
        if type(amount) is not int or amount < 0:
            raise ValueError(f"amount {amount!r} is not integer cents")
        if edc not in {e.value for e in Edc} - {"00"} or card_type not in CARD_TYPES:
            raise ValueError(f"unknown EDC {edc!r} or card type {card_type!r}")
        with self._lock:
            if self._full() and not offline:
                raise ValueError("database full: please settle (100025)")
            self._auth += 1
            txn = Transaction(
                edc, trans_type, card_type, amount, self._number("saf" if offline else "normal"),
                "" if offline else f"{self._auth:06d}", self.timestamp(), ecr_reference,
            )  # fmt: skip
            (self.saf_records if offline else self.normal).append(txn)
            return txn

    def clear_without_settle(self) -> int:
        """BroadPOS "auto clear database": the batch vanishes, no settlement, same batch no."""
        with self._lock:
            gone = len(self.normal) + len(self.saf_records)
            self.normal.clear()
            self.saf_records.clear()
            self.cleared_without_settle += 1
            return gone

    @property
    def settlements(self) -> int:
        """Batches closed (B00 or B02), as the ZVT simulator counts its end-of-days."""
        return len(self.settled)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "batch": self.batch_number,
                "count": len(self.normal),
                "total": sum(t.amount for t in self.normal),
                "saf": len(self.saf_records),
                "saf_total": sum(t.amount for t in self.saf_records),
                "host_down": self.host_down,
                "out_of_balance": self.out_of_balance,
                "db_full": self._full(),
                "settled": [list(s) for s in self.settled],
            }

    # -- requests

    def handle(self, request: Request) -> Response:
        with self._lock:
            handler = _HANDLERS.get(type(request))
            if handler is not None:
                return handler(self, request)
            return self.unsupported(request.command, request.version)

    def unsupported(self, command: str, version: str = "") -> Response:
        code, message = (
            ("100004", "UNSUPPORTED TRANS")
            if command in KNOWN_UNSUPPORTED
            else ("100027", "UNSUPPORTED COMMAND")
        )
        return self.refusal(command, code, message, version)

    def refusal(self, command: str, code: str, message: str, version: str = "") -> Response:
        """A base-only answer; rspCmd = command + 1 where that is still a command."""
        rsp = response_command(command) if command[1:] != "99" else command
        return OtherResponse(other_command=rsp, code=code, message=message, version=version)

    def _initialize(self, req: Initialize) -> Response:
        return InitializeResponse(
            version=req.version,
            serial_number=self.serial_number,
            model=self.model,
            os_version=self.os_version,
        )

    def _reset(self, req: Reset) -> Response:
        return ResetResponse(version=req.version)

    def _reboot(self, req: Reboot) -> Response:
        return RebootResponse(version=req.version)

    def _code(self) -> tuple[str, str]:
        return ("100025", "PLEASE SETTLE") if self._full() else ("000000", "OK")

    def _local_total(self, req: LocalTotal) -> Response:
        if req.edc_type and req.edc_type not in {e.value for e in Edc}:
            return self.refusal(req.command, "100005", "UNSUPPORTED EDC", req.version)
        records = self._select(self.normal, req.edc_type or "00", "", req.card_type)
        groups = []
        for index, name in enumerate(EDC_GROUPS):
            edc = f"{index + 1:02d}"
            values: list[int] = []
            for kind in TOTALS_LAYOUT[name]:
                of_kind = [
                    t for t in records if t.edc == edc and t.trans_type == KIND_TRANS_TYPE[kind]
                ]
                values += [len(of_kind), sum(t.amount for t in of_kind)]
            groups.append(tuple(values))
        code, message = self._code()
        return LocalTotalResponse(
            version=req.version,
            code=code,
            message=message,
            edc_type=req.edc_type or "00",
            totals=tuple(groups),
        )

    def _local_detail(self, req: LocalDetail) -> Response:
        records = [
            t
            for t in self._select(self.normal, req.edc_type or "00", req.trans_type, req.card_type)
            if (not req.trans_number or req.trans_number == str(t.trans_number))
            and (not req.auth_code or req.auth_code == t.auth_code)
            and (not req.ecr_reference or req.ecr_reference == t.ecr_reference)
        ]
        index = req.record_number or 0
        if not records:
            return self.refusal(req.command, "100003", NO_TRANS, req.version)
        if index >= len(records):
            return self.refusal(req.command, "100003", "INVALID INDEX", req.version)
        txn = records[index]
        code, message = self._code()
        return LocalDetailResponse(
            version=req.version,
            code=code,
            message=message,
            total_records=len(records),
            record_number=index,
            host=self._host("000000", "APPROVAL", txn.auth_code, str(txn.trans_number)),
            edc_type=txn.edc,
            trans_type=txn.trans_type,
            amount=AmountInfo(approved=txn.amount, due=0),
            account=AccountInfo(
                account=txn.account,
                entry_mode="4",
                expiry="1230",
                card_type=txn.card_type,
                card_present="0",
            ),
            trace=TraceInfo(
                trans_number=str(txn.trans_number),
                ecr_reference=txn.ecr_reference,
                timestamp=txn.timestamp,
            ),
        )

    def _saf_summary(self, req: SafSummary) -> Response:
        records = self._saf(req.indicator)
        counts, amounts = [], []
        for codes in SAF_CARD_ORDER:
            of_card = [t for t in records if t.card_type in codes]
            counts.append(len(of_card))
            amounts.append(sum(t.amount for t in of_card))
        code, message = self._code()
        return SafSummaryResponse(
            version=req.version,
            code=code,
            message=message,
            counts=tuple(counts),
            amounts=tuple(amounts),
        )

    def _saf_upload(self, req: SafUpload) -> Response:
        records = self._saf(req.indicator)
        uploaded, failed = self._upload(records)
        return SafUploadResponse(
            version=req.version,
            code="000100" if failed and not uploaded else "000000",
            message="HOST DECLINE" if failed and not uploaded else "OK",
            saf_total_count=len(records),
            saf_total_amount=sum(t.amount for t in records),
            timestamp=self.timestamp(),
            uploaded_count=len(uploaded),
            uploaded_amount=sum(t.amount for t in uploaded),
            failed_count=len(failed),
            failed_total=sum(t.amount for t in failed),
        )

    def _batch_close(self, req: BatchClose) -> Response:
        # GP SDKs send "YYYY…", 12-hour or Y-m-d-less stamps: anything odd means "now".
        when = parse_timestamp(req.timestamp)
        stamp = format_timestamp(when) if when else self.timestamp()
        if self.host_down:
            return BatchCloseResponse(
                version=req.version,
                code="000100",
                message="HOST DECLINE",
                host=self._host("000100", "HOST DECLINE"),
                timestamp=stamp,
                tid=self.tid,
                mid=self.mid,
            )
        self._upload(list(self.saf_records))
        counts, amounts = self._per_edc(self.normal)
        host = self._host("000000", "OK")
        code, message = ("000000", "OK")
        if self.out_of_balance:
            code, message = "000300", "BATCH CLOSED OUT OF BALANCE"
            host = self._host(code, message)
        self._close()
        return BatchCloseResponse(
            version=req.version,
            code=code,
            message=message,
            host=host,
            total_count=counts,
            total_amount=amounts,
            timestamp=stamp,
            tid=self.tid,
            mid=self.mid,
        )

    def _force_close(self, req: ForceClose) -> Response:
        # A local close: the host is not asked, so host-down does not stop it.
        counts, amounts = self._per_edc(self.normal)
        host = self._host("000000", "OK")
        lines = [
            "FORCE BATCH CLOSE",
            f"TID {self.tid}",
            f"MID {self.mid}",
            f"BATCH {self.batch_number:06d}",
            *(
                f"{name.upper():8} {count:4d} {amount / 100:12.2f}"
                for name, count, amount in zip(EDC_GROUPS, counts, amounts, strict=True)
                if count
            ),
            f"TOTAL    {sum(counts):4d} {sum(amounts) / 100:12.2f}",
        ]
        stamp = self.timestamp()
        self._close()
        return ForceCloseResponse(
            version=req.version,
            host=host,
            line_count=len(lines),
            lines=tuple(lines),
            timestamp=stamp,
            tid=self.tid,
            mid=self.mid,
        )

    # -- internals

    def _full(self) -> bool:
        return self.db_full or len(self.normal) >= self.capacity

    def _number(self, store: str) -> int:
        span = {"normal": range(1, 5001), "saf": SAF_STORED, "failed": SAF_FAILED}[store]
        number = self._next[store]
        self._next[store] = number + 1 if number + 1 < span.stop else span.start
        return number

    def _host(self, code: str, message: str, auth: str = "", trace: str = "") -> HostInfo:
        return HostInfo(
            resp_code=code,
            resp_message=message,
            auth_code=auth,
            host_reference=f"{self.batch_number:06d}",
            trace_number=trace,
            batch_number=str(self.batch_number),
        )

    @staticmethod
    def _select(
        records: list[Transaction], edc: str, trans_type: str, card_type: str
    ) -> list[Transaction]:
        return [
            t
            for t in records
            if edc in ("", "00", t.edc)
            and trans_type in ("", "00", t.trans_type)
            and card_type in ("", t.card_type)
        ]

    def _saf(self, indicator: str) -> list[Transaction]:
        """0 new (stored), 1 failed, anything else all."""
        if indicator == "0":
            return [t for t in self.saf_records if t.trans_number in SAF_STORED]
        if indicator == "1":
            return [t for t in self.saf_records if t.trans_number in SAF_FAILED]
        return list(self.saf_records)

    def _upload(self, records: list[Transaction]) -> tuple[list[Transaction], list[Transaction]]:
        """Host up: SAF records join the normal database; down: they move to the failed store."""
        uploaded: list[Transaction] = []
        failed: list[Transaction] = []
        for txn in records:
            self.saf_records.remove(txn)
            if self.host_down:
                moved = txn if txn.trans_number in SAF_FAILED else None
                moved = moved or replace(txn, trans_number=self._number("failed"))
                self.saf_records.append(moved)
                failed.append(moved)
            else:
                self._auth += 1
                moved = replace(
                    txn, trans_number=self._number("normal"), auth_code=f"{self._auth:06d}"
                )
                self.normal.append(moved)
                uploaded.append(moved)
        return uploaded, failed

    @staticmethod
    def _per_edc(records: list[Transaction]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        # Batch counts exclude auths and voids (they move no money at settlement).
        counted = [t for t in records if t.trans_type not in ("03", *map(str, range(16, 23)))]
        counts = tuple(sum(1 for t in counted if t.edc == f"{i:02d}") for i in range(1, 8))
        # Amounts are net: a refund ("02") is paid back out of the batch.
        amounts = tuple(
            sum(-t.amount if t.trans_type == "02" else t.amount for t in counted
                if t.edc == f"{i:02d}")
            for i in range(1, 8)
        )  # fmt: skip
        return counts, amounts

    def _close(self) -> None:
        self.settled.append(
            (self.batch_number, len(self.normal), sum(t.amount for t in self.normal))
        )
        self.normal.clear()
        self.db_full = False  # settling empties the database
        self.batch_number = self.batch_number + 1 if self.batch_number < 999999 else 1


_HANDLERS: dict[type[Request], Callable[[PosLinkTerminal, Any], Response]] = {
    Initialize: PosLinkTerminal._initialize,
    Reset: PosLinkTerminal._reset,
    Reboot: PosLinkTerminal._reboot,
    LocalTotal: PosLinkTerminal._local_total,
    LocalDetail: PosLinkTerminal._local_detail,
    SafSummary: PosLinkTerminal._saf_summary,
    SafUpload: PosLinkTerminal._saf_upload,
    BatchClose: PosLinkTerminal._batch_close,
    ForceClose: PosLinkTerminal._force_close,
}
