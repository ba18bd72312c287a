"""RFM with the profile's own keys through real pcscd + ifd-vpcd + `euicc-emu run` (pyscard): the
TS.48 v7 package downloaded over SGP.22 by the host LPA through PC/SC and enabled, then an SCP80
packet with the package's AES key set to its USIM ADF RFM TAR (UPDATE BINARY EF.SPN, ADM, access
domain '00'), read back by the terminal through PC/SC; the ISD-R's key set at that TAR is refused
('05': the profile's KVN 1 is 3DES); RAM GET STATUS of the MNO-SD works."""
from __future__ import annotations

import pytest

from tests.e2e.pcsc_host import reader_name
from tests.m2m import host
from tests.ota.profile_ota_host import USIM_AID, download_and_enable, package_ota, read_ef
from tests.rsp_host.conftest import card_smdp  # noqa: F401 - fixture
from tools.ota import transport
from tools.smsr.pki_files import DEFAULT_CARD_KEYSET
from tools.terminal.link import PcscLink

pytestmark = pytest.mark.pcsc

EF_SPN = 0x6F46
NEW_SPN = bytes.fromhex("01") + b"PC/SC RFM!"


def test_profile_rfm_and_ram_over_pcsc(start_card, pcscd, card_smdp, tmp_path):  # noqa: F811
    start_card(tmp_path / "card.state")
    link = PcscLink(reader_name(pcscd))
    try:
        download_and_enable(link.transmit, card_smdp, "OTA-PCSC")
        package = package_ota()
        terminal = host.Terminal(link)
        terminal.terminal_profile()
        tar = package.rfm_tar(USIM_AID)
        update = [bytes.fromhex("00A4000C026F46"), bytes([0x00, 0xD6, 0x00, 0x00, len(NEW_SPN)]) + NEW_SPN]

        isdr = host.OtaServer(terminal, DEFAULT_CARD_KEYSET)
        data, _ = isdr.deliver(isdr.packet(transport.expanded_script(update), tar=tar))
        assert isdr.por(data).status == 0x05
        assert read_ef(terminal, EF_SPN, len(NEW_SPN)) != NEW_SPN

        mno = host.OtaServer(terminal, package.keyset(0x88))
        assert mno.run(update, tar=tar)[-1][1] == 0x9000
        assert read_ef(terminal, EF_SPN, len(NEW_SPN)) == NEW_SPN

        (status, sw), = mno.run([bytes.fromhex("80F28002024F0000")], tar=package.ram_tars[0])
        assert sw == 0x9000 and dict(host.parse_tlvs(dict(host.parse_tlvs(status))[0xE3]))[0x4F] == package.sd_aid
    finally:
        link.close()
