"""``python -m tools.smsr``."""
import sys

from tools.smsr.cli import main

sys.exit(main())
