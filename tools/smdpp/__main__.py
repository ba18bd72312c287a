"""``python -m tools.smdpp``."""
from tools.smdpp.cli import main

raise SystemExit(main())
