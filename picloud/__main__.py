"""``python -m picloud`` is the ``picloud`` command."""

from __future__ import annotations

import sys

from picloud.cli import main

sys.exit(main())
