"""The action's main step: the runner runs this file in the container."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from last9_change_event.edge import main

if __name__ == "__main__":
    sys.exit(main())
