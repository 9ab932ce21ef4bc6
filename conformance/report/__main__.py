"""``python -m conformance.report report|reproduce|diff ...``."""
import sys

from conformance.report.cli import main

sys.exit(main())
