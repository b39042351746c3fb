"""``python -m escalation.cli``: the command line."""

import sys

from escalation.cli.main import main

sys.exit(main())
