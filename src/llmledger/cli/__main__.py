import sys

from llmledger.cli import main

sys.exit(main())
