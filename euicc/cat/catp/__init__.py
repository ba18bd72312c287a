"""CAT_TP, the Card Application Toolkit Transport Protocol (ETSI TS 102 127), card side.

:mod:`.pdu` is the PDU codec (TS 102 127, PDU formats), :mod:`.endpoint` the sans-I/O connection
state machine (connection management, reliable in-sequence delivery, segmentation), driven over
a BIP UDP channel as a :class:`euicc.cat.bip_port.ChannelUser`.

Sources: TS 102 127's text is not in the reference set, so its clauses are cited by subject, not
number.  The PDU layout, flag values, RST reason codes and checksum coverage follow the
specification as Wireshark's CAT_TP dissector (written to TS 102 127 v6.13) decodes it; the
sequence, acknowledgement, window and EAK rules follow RDP (RFC 908, RFC 1151), which TS 102 127
states CAT_TP is derived from.  Timer values and window sizes are named settings
(:class:`.endpoint.CatTpSettings`).
"""
