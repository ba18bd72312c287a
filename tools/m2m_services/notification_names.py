"""Names of the SM-SR's attribute notifications (SGP.02 v4.2 §5.3-§5.5 Handle*Notification,
notification style).  They come from a public SGP.02 function catalogue (eUICC.tech "Off-Card
Interfaces: ES1-ES7 and the SOAP Binding"), not from the specification text itself: settings."""
from __future__ import annotations

FALLBACK_SET, FALLBACK_UNSET = "HandleFallBackAttributeSetNotification", "HandleFallBackAttributeUnsetNotification"
EMERGENCY_SET, EMERGENCY_UNSET = ("HandleEmergencyProfileAttributeSetNotification",
                                  "HandleEmergencyProfileAttributeUnsetNotification")
ATTRIBUTE_NOTIFICATIONS = (FALLBACK_SET, FALLBACK_UNSET, EMERGENCY_SET, EMERGENCY_UNSET)
