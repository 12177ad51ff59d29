"""Refresh the message catalogues: extract the msgids with `pybabel extract`, then merge
them into guidepress/locale/{fr,en}/LC_MESSAGES/guidepress.po with `pybabel update`.
Run `.venv/bin/python scripts/catalogue.py` after changing a message; translate the
new entries of fr (en: copy the msgid) and run `make setup` to compile."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POT = "guidepress/locale/guidepress.pot"

subprocess.run([BIN / "pybabel", "extract", "-F", "babel.cfg", "-k", "_", "-k", "N_", "-k", "ngettext:1,2", "-k", "pgettext:1c,2",
                "--no-location", "--sort-output", "--project", "guidepress", "--omit-header",
                "-o", POT, "."], cwd=ROOT, check=True)
for lang in ("fr", "en"):
    po = ROOT / f"guidepress/locale/{lang}/LC_MESSAGES/guidepress.po"
    action = "update" if po.exists() else "init"
    subprocess.run([BIN / "pybabel", action, "-D", "guidepress", "-i", POT, "-d",
                    "guidepress/locale", "-l", lang, "--no-wrap", "--no-fuzzy-matching", "--ignore-obsolete"],
                   cwd=ROOT, check=True)  # the header keeps each language's Plural-Forms
