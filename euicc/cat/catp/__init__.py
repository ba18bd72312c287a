"""CAT_TP, the Card Application Toolkit Transport Protocol (ETSI TS 102 127), card side.

:mod:`.pdu` is the PDU codec (TS 102 127 §6), :mod:`.endpoint` the sans-I/O connection
state machine (§5: connection management, reliable in-sequence delivery, segmentation),
driven over a BIP UDP channel as a :class:`euicc.cat.bip_port.ChannelUser`.
"""
