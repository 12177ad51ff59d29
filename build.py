#!/usr/bin/env python3
"""Build branded print kits: `python build.py [--brand B | --all-brands] [--lang L]`."""

import sys

from guidepress.cli import main

if __name__ == "__main__":
    sys.exit(main())
