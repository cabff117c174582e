"""Where the shared API reference lives: `../shared/reference` beside the checkout.

CI lays `shared/` next to its clone; a user's clone has none, and the tests that read
it skip with a reason there. FLOWKEEPER_REFERENCE_DIR overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(os.environ.get("FLOWKEEPER_REFERENCE_DIR") or REPO.parent / "shared" / "reference")
