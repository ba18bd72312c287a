"""Terminal (modem) simulator for the eUICC: CAT, SMS-PP download, events, REFRESH (host side)."""
