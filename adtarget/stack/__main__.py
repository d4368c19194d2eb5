"""``python -m adtarget.stack``: the same as ``adtarget-stack``."""

from __future__ import annotations

import sys

from adtarget.stack.cli import main

sys.exit(main())
