"""Where the benchmarks are: importing this puts the checkout's root first on sys.path, so a benchmark
run as `python benchmarks/NAME.py` measures the colorize/ beside it, never an installed copy.

ROOT is the repository; SHARED the research-use data and samples beside it (../shared), read only.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
