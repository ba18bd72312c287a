"""USIM/ISIM authentication algorithms (3GPP TS 33.102 §6.3, TS 31.102 §7.1, TS 33.501 Annex C).

Pure library, independent of the APDU layer: Milenage (TS 35.206), TUAK (TS 35.231), the
test algorithm of TS 34.108 §8.1.2, SQN freshness (TS 33.102 Annex C), the USIM side of AKA
and SUCI concealment (TS 33.501 Annex C.3).
"""
