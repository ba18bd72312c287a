"""A test SM-DP+ (host side): GSMA SGP.22 v2.5 ES9+ (§5.6) over HTTP(S)/JSON (§6.5), with
bound profile package generation (§2.5.5, §5.5, Annex G).  Never imported by card code.

Modules: :mod:`.es9plus` (the functions), :mod:`.http_binding` (JSON over HTTP),
:mod:`.bpp` (ES8+ / BSP), :mod:`.certificates`, :mod:`.orders`, :mod:`.signing`, :mod:`.cli`.
"""
