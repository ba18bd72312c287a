"""``python -m tools.profile_builder``: see :mod:`tools.profile_builder.cli`."""
import sys

from .cli import main

sys.exit(main())
