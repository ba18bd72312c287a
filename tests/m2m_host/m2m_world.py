"""Test world of the SGP.02 host tools: a card with an M2M identity, a terminal, SM-SR(s), an SM-DP.

The PKI, the world and the life-cycle scenario are host code (:mod:`tools.smsr.lifecycle`); the
card's M2M identity is written into its store the way an EUM personalises it
(:func:`tools.bench.m2m_bench.personalise`, the only place these tests touch card internals).
"""
from __future__ import annotations

from tests.reference import REFERENCE
from tools.bench.m2m_bench import isdr_keyset, personalise
from tools.smsr.lifecycle import Pki, World
from tools.smsr.lifecycle import connect as connect_link
from tools.terminal.link import CallableLink

TS48 = REFERENCE / "profiles" / "ts48-v7" / "TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI.der"

__all__ = ["TS48", "Pki", "World", "connect", "personalise"]


def connect(transmit, reset, pki: Pki) -> World:
    return connect_link(CallableLink(transmit, reset), isdr_keyset(), pki)
