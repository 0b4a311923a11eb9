"""``python -m llmledger ...``: the ``llmledger`` command, for when its script is not on PATH."""

import sys

from llmledger.cli import main

sys.exit(main())
