"""`python -m layoutgen`: the same as the `layoutgen` command."""

import sys

from .cli import main

sys.exit(main())
