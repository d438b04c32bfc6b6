"""The hack/ tools' tests: make hack/imagebuild importable (it is a stdlib-only tool, not an installed package)."""

from __future__ import annotations

import sys
from pathlib import Path

HACK = Path(__file__).resolve().parents[3] / "hack"
if str(HACK) not in sys.path:
    sys.path.insert(0, str(HACK))
