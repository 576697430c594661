"""The action's main step: the runner runs this file in the container."""

import os
import sys

# os.path, not pathlib: this runs on every step, and pathlib takes longer to load.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "src"))  # noqa: PTH118, PTH120

from last9_change_event.github.steps import main

if __name__ == "__main__":
    sys.exit(main())
