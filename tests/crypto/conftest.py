"""Shared fixtures: the published SCP03 and BSP vectors (tests/vectors, see its SOURCES.md)."""
from __future__ import annotations

import pytest

from tests.vectors import section


@pytest.fixture(scope="session")
def scp03_vectors() -> dict:
    return section("scp03_gp_amd_d")


@pytest.fixture(scope="session")
def bsp_vectors() -> dict:
    return section("sgp22_bsp_scp03t")
