"""ValidityPeriod enforcement (SGP.02 v4.2 §5.1 common data): the function requester says for how
long (seconds, from the provider's reception of the request) the function call is valid; a
provider that would execute a step after that time stops and answers ``Expired``.

- The clock starts when the provider has read the request (:class:`Deadline`); the handler runs
  with it as :data:`CURRENT`, a context variable, so the code that does the work checks it at its
  own steps without passing it around: the SM-SR before each use of the card (a call queued behind
  another one for the card, or a long function between two OTA exchanges), the SM-DP before each
  ES3 call it makes for an ES2 function (and it gives the SM-SR only the time left).
- A step already started is finished (an OTA command sent to the card is not abandoned); a function
  whose last step ended is reported with that step's status, even if the period ran out meanwhile.
  These two are decisions: the readable sources do not say what a provider does in those cases.
- ``Expired`` carries no StatusCodeData (§5.1 FunctionExecutionStatus: StatusCodeData goes with
  Failed and Executed-WithWarning); :data:`EXPIRED_CODE` turns one on (a setting).
"""
from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field

from tools.m2m_services.status import EXPIRED, FunctionExecutionStatus, FunctionFailed, StatusCodeData

EXPIRED_CODE: tuple[str, str] | None = None
"""(subject, reason) to put in an Expired status, e.g. ("1.6", "6.3"); None: none (see above)."""


class FunctionExpired(FunctionFailed):
    """The validity period of the call elapsed before the next step: status Expired."""

    def __init__(self, what: str) -> None:
        super().__init__("1.6", "6.3", f"validity period elapsed before {what}", status=EXPIRED)
        if EXPIRED_CODE is None:
            self.status = FunctionExecutionStatus(EXPIRED)
        else:
            self.status = FunctionExecutionStatus(EXPIRED, StatusCodeData(*EXPIRED_CODE, message=str(self)))


@dataclass
class Deadline:
    """The end of one call's validity period on the provider's monotonic clock."""

    validity: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.started + self.validity - time.monotonic()

    def check(self, what: str) -> None:
        """Raise :class:`FunctionExpired` if the period has elapsed."""
        if self.remaining() <= 0:
            raise FunctionExpired(what)


CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("validity_deadline", default=None)
"""The deadline of the call the current thread executes (None outside a provider's handler)."""


def check(what: str) -> None:
    """Check the current call's deadline (no-op outside a call)."""
    deadline = CURRENT.get()
    if deadline is not None:
        deadline.check(what)


def remaining(default: int) -> int:
    """Whole seconds left of the current call's period (at least 1), ``default`` outside a call: the
    ValidityPeriod a relaying provider gives the calls it makes for this one."""
    deadline = CURRENT.get()
    return default if deadline is None else max(1, int(deadline.remaining()))
