"""``python -m tools.smdp_m2m``."""
import sys

from tools.smdp_m2m.cli import main

sys.exit(main())
