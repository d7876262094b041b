"""`python -m chatlab ...` runs the `chatlab` command (useful where the script is not on PATH)."""
import sys

from chatlab.cli import main

sys.exit(main())
