"""Allows ``python -m fasutils``."""

import sys

from fasutils.cli import main

sys.exit(main())
