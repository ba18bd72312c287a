"""The copies in tests/vectors/data (and tests/ota/data) are the reference folder's files, byte for
byte (SOURCES.md): each against the SHA-256 recorded from the reference SHA256SUMS, and, when the
reference folder is present, the recorded lines against that folder's SHA256SUMS and files."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.reference import require
from tests.vectors import DATA, TS48_V7

TS48_V7_REL = "./profiles/ts48-v7/" + TS48_V7.name
TS48_V7_SHA256 = "74c2c190d7402d85dc191f18584f0eee30de593e65b083a9cca2ed398705bcd9"


def recorded() -> dict[str, str]:
    """{reference-relative path: sha256} from data/SHA256SUMS (the reference's own lines)."""
    lines = (DATA / "SHA256SUMS").read_text().splitlines()
    return {rel: digest for digest, rel in (line.split(None, 1) for line in lines)}


COPIES = {rel: DATA / rel for rel in recorded()} | {TS48_V7_REL: TS48_V7}
DIGESTS = recorded() | {TS48_V7_REL: TS48_V7_SHA256}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("rel", sorted(COPIES), ids=lambda rel: rel.removeprefix("./"))
def test_copy_has_the_recorded_digest(rel):
    assert sha256(COPIES[rel]) == DIGESTS[rel]


def test_every_copied_file_is_recorded():
    on_disk = {"./" + str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file()}
    assert on_disk - {"./SHA256SUMS"} == set(recorded())


def test_recorded_digests_are_the_reference_folders():
    """Every recorded line is a line of the reference SHA256SUMS, and its file still hashes so."""
    sums = require("SHA256SUMS", "reference SHA256SUMS")
    theirs = {rel: digest for digest, rel in (line.split(None, 1) for line in sums.read_text().splitlines())}
    assert {rel: theirs.get(rel) for rel in DIGESTS} == DIGESTS
    assert {rel: sha256(sums.parent / rel) for rel in DIGESTS} == DIGESTS
