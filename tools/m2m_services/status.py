"""The common header of SGP.02 v4.2 §5.1 function calls and their FunctionExecutionStatus.

Request header (§5.1 "common data"): FunctionRequesterIdentifier, FunctionCallIdentifier,
ValidityPeriod.  Response header: ProcessingStart, ProcessingEnd, AcceptableValidityPeriod,
FunctionExecutionStatus {Status, StatusCodeData {SubjectCode, ReasonCode, SubjectIdentifier,
Message}}, Status one of Executed-Success, Executed-WithWarning, Failed, Expired.

Codes.  The generic subject codes (1.x) and the reason codes below are the table SGP.02 §5.1 and
SGP.22 §5.x share [C SGP.22 v2.5/v3 code tables as transcribed in public sources]; the subject
codes of the SGP.02 M2M objects beyond 8.1.1 / 8.2.1 (POL2, ISD-P, SM-SR ...) are not in a
source readable here: they are :class:`SubjectCodes` settings, defaults [C NJIWA io/njiwa/sr/ws]
where NJIWA uses one, and said so.  Element names of the status: [C NJIWA BaseResponseType]
writes ``Subject``/``Reason``; the names here follow the §5.1 field names and are settings too.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tools.m2m_services.binding import Field

EXECUTED_SUCCESS = "Executed-Success"
EXECUTED_WITH_WARNING = "Executed-WithWarning"
FAILED = "Failed"
EXPIRED = "Expired"
STATUSES = (EXECUTED_SUCCESS, EXECUTED_WITH_WARNING, FAILED, EXPIRED)

SUBJECTS = {
    "1.1": "Function Requester", "1.2": "Function Provider", "1.3": "Protocol", "1.3.1": "Protocol Format",
    "1.3.2": "Protocol Version", "1.6": "Function",
    "8": "eUICC Remote Provisioning", "8.1": "eUICC", "8.1.1": "EID", "8.2": "Profile", "8.2.1": "Profile ICCID",
}
"""Subject codes confirmed in the shared SGP.02/SGP.22 table."""
REASONS = {
    "1.1": "Unknown (Identification or Authentication)", "1.2": "Not Allowed (Authorisation)",
    "2.1": "Invalid", "2.2": "Mandatory Element Missing", "2.3": "Conditional Element Missing",
    "3.1": "Unsupported", "3.3": "Already in Use (Uniqueness)", "3.5": "Invalid transition",
    "3.7": "Unavailable", "3.8": "Refused", "3.9": "Unknown", "3.10": "Invalid Association",
    "4.2": "Execution Error", "4.3": "Stopped on Warning", "4.8": "Insufficient Memory",
    "4.10": "Time to Live Expired", "5.1": "Inaccessible",
    "6.1": "Verification Failed", "6.3": "Expired", "6.4": "Maximum number of attempts exceeded",
}
"""Reason codes confirmed in the shared SGP.02/SGP.22 table."""


@dataclass(frozen=True)
class SubjectCodes:
    """SGP.02-only subject codes no readable source confirms (settings)."""

    pol2: str = "8.2.3"          # NJIWA CommonImpl "Denied by POL2"
    isdp: str = "8.3.1"          # NJIWA ES3Impl "Unknown ISD-P/ISD-R"
    eis_busy: str = "1.2"        # NJIWA: Function Provider, reason 4.4 for a handover in progress


CODES = SubjectCodes()


@dataclass(frozen=True)
class StatusCodeData:
    subject_code: str
    reason_code: str
    subject_identifier: str | None = None
    message: str | None = None

    def fields(self) -> list[Field]:
        out: list[Field] = [("SubjectCode", self.subject_code), ("ReasonCode", self.reason_code)]
        if self.subject_identifier:
            out.append(("SubjectIdentifier", self.subject_identifier))
        if self.message:
            out.append(("Message", self.message))
        return out


@dataclass(frozen=True)
class FunctionExecutionStatus:
    status: str
    code: StatusCodeData | None = None

    @property
    def ok(self) -> bool:
        return self.status in (EXECUTED_SUCCESS, EXECUTED_WITH_WARNING)

    def fields(self) -> list[Field]:
        out: list[Field] = [("Status", self.status)]
        if self.code is not None:
            out.append(("StatusCodeData", self.code.fields()))
        return out

    @classmethod
    def from_fields(cls, fields: list[Field] | None) -> FunctionExecutionStatus:
        """Read the status group of a response; a missing or unknown status is a protocol error."""
        values = dict((n, v) for n, v in fields or [] if isinstance(v, str))
        status = values.get("Status")
        if status not in STATUSES:
            raise ValueError(f"FunctionExecutionStatus without a valid Status: {status!r}")
        data = next((v for n, v in fields or [] if n == "StatusCodeData" and isinstance(v, list)), None)
        code = None
        if data is not None:
            d = dict((n, v) for n, v in data if isinstance(v, str))
            code = StatusCodeData(d.get("SubjectCode", ""), d.get("ReasonCode", ""), d.get("SubjectIdentifier"),
                                  d.get("Message"))
        return cls(status, code)

    def __str__(self) -> str:
        if self.code is None:
            return self.status
        c = self.code
        what = f"{SUBJECTS.get(c.subject_code, c.subject_code)} - {REASONS.get(c.reason_code, c.reason_code)}"
        return f"{self.status} {c.subject_code} {c.reason_code} ({what}){': ' + c.message if c.message else ''}"


SUCCESS = FunctionExecutionStatus(EXECUTED_SUCCESS)


class FunctionFailed(Exception):
    """A function refused or failed: the provider answers with this status (never a traceback)."""

    def __init__(self, subject: str, reason: str, message: str, identifier: str | None = None,
                 status: str = FAILED) -> None:
        super().__init__(message)
        self.status = FunctionExecutionStatus(status, StatusCodeData(subject, reason, identifier, message))

    @classmethod
    def from_status(cls, status: FunctionExecutionStatus) -> FunctionFailed:
        """Pass on another provider's Failed or Expired status (a relaying party)."""
        code = status.code or StatusCodeData("1.2", "4.2")
        return cls(code.subject_code, code.reason_code, code.message or status.status, code.subject_identifier,
                   status.status)


def timestamp(moment: dt.datetime | None = None) -> str:
    """xs:dateTime in UTC (the ProcessingStart / ProcessingEnd fields)."""
    return (moment or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def request_header(requester: str, call_id: str, validity: int) -> list[Field]:
    """§5.1 request common data (ValidityPeriod in seconds)."""
    return [("FunctionRequesterIdentifier", requester), ("FunctionCallIdentifier", call_id),
            ("ValidityPeriod", str(validity))]


def response_header(started: str, status: FunctionExecutionStatus, validity: int) -> list[Field]:
    """§5.1 response common data."""
    return [("ProcessingStart", started), ("ProcessingEnd", timestamp()),
            ("AcceptableValidityPeriod", str(validity)), ("FunctionExecutionStatus", status.fields())]
