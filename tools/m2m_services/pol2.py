"""POL2, the profile's policy rules kept by the SM-SR in the EIS (SGP.02 v4.2 §2.4.x, §3.x
policy rules; set by the operator with UpdatePolicyRules, §5.3/§5.4).

A rule is (Subject PROFILE, Action ENABLE | DISABLE | DELETE, Qualification Not-Allowed |
Auto-Delete) [C NJIWA Pol2Rule: the XML values ``Not-Allowed`` / ``Auto-Delete``].  No rule means
no restriction.  "Auto-Delete" on DISABLE is "profile deletion is mandatory when its state is
changed to disabled".  The SM-SR checks POL2 before it sends anything to the card: enabling a
profile disables the enabled one, so its DISABLE rule is checked too.
"""
from __future__ import annotations

from dataclasses import dataclass

from tools.m2m_services.binding import Field

SUBJECT = "PROFILE"
ACTIONS = ("ENABLE", "DISABLE", "DELETE")
NOT_ALLOWED, AUTO_DELETE = "Not-Allowed", "Auto-Delete"
QUALIFICATIONS = (NOT_ALLOWED, AUTO_DELETE)


class Pol2Error(ValueError):
    """A POL2 element that does not follow the rule form above."""


@dataclass(frozen=True)
class Rule:
    action: str
    qualification: str

    def fields(self) -> list[Field]:
        return [("Subject", SUBJECT), ("Action", self.action), ("Qualification", self.qualification)]


@dataclass(frozen=True)
class Pol2:
    rules: tuple[Rule, ...] = ()

    def qualification(self, action: str) -> str | None:
        return next((r.qualification for r in self.rules if r.action == action), None)

    def allows(self, action: str) -> bool:
        return self.qualification(action) != NOT_ALLOWED

    @property
    def delete_when_disabled(self) -> bool:
        return self.qualification("DISABLE") == AUTO_DELETE

    def fields(self) -> list[Field]:
        return [("Rule", r.fields()) for r in self.rules]

    def to_json(self) -> list[list[str]]:
        return [[r.action, r.qualification] for r in self.rules]

    @classmethod
    def from_json(cls, data: list[list[str]]) -> Pol2:
        return cls(tuple(Rule(a, q) for a, q in data))

    @classmethod
    def from_fields(cls, fields: list[Field]) -> Pol2:
        """Read ``Rule`` groups; :class:`Pol2Error` on an unknown subject, action or qualification,
        or two rules for one action."""
        rules: list[Rule] = []
        for name, value in fields:
            if name != "Rule" or not isinstance(value, list):
                raise Pol2Error(f"unexpected POL2 element {name}")
            rule = dict((n, v) for n, v in value if isinstance(v, str))
            if rule.get("Subject", SUBJECT) != SUBJECT:
                raise Pol2Error(f"POL2 subject {rule.get('Subject')!r} (only {SUBJECT})")
            action, qualification = rule.get("Action"), rule.get("Qualification")
            if action not in ACTIONS or qualification not in QUALIFICATIONS:
                raise Pol2Error(f"POL2 rule {action!r}/{qualification!r}")
            if qualification == AUTO_DELETE and action != "DISABLE":
                raise Pol2Error("Auto-Delete qualifies DISABLE only")
            if any(r.action == action for r in rules):
                raise Pol2Error(f"two POL2 rules for {action}")
            rules.append(Rule(action, qualification))
        return cls(tuple(rules))
