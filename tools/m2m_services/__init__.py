"""SGP.02 off-card parties as services (SOAP over HTTP on loopback): SM-SR, SM-DP, MNO, EUM."""
