"""``python -m tools.pki``."""
import sys

from tools.pki.cli import main

sys.exit(main())
