"""SAIP profile builder: build a TCA eUICC Profile Package from parameters, dump one as JSON.

Importable without the rest of ``tools/`` (the card's first-run code uses
:func:`default_test_profile`); the CLI lives in :mod:`tools.profile_builder.cli`.
"""
from .builder import (IsimParameters, KeySet, ProfileBuilder, ProfileParameters, build_elements,
                      build_upp)
from .default_profile import DEFAULT_TEST_PARAMETERS, default_test_profile
from .dump import dump_upp

__all__ = ["IsimParameters", "KeySet", "ProfileBuilder", "ProfileParameters", "build_elements",
           "build_upp", "DEFAULT_TEST_PARAMETERS", "default_test_profile", "dump_upp"]
