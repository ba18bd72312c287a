"""A test SM-SR for GSMA SGP.02 v4.2 (ES5 over SCP80 SMS, EIS bookkeeping, SM-SR change)."""
