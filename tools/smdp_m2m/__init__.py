"""A test SM-DP for GSMA SGP.02 v4.2 (ES8 key establishment, SCP03t profile download) over a test SM-SR."""
