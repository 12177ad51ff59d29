#!/usr/bin/env bash
# Prepare a fresh Debian machine and a clean clone: the system libraries WeasyPrint and
# the checks need (installed only where missing, and only as root), then .venv with the
# Python packages at the versions recorded in constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
packages=(
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1  # WeasyPrint
  ghostscript libgs-common  # total ink measurement; default_cmyk.icc for the printer ticket
  poppler-utils qpdf        # pdftoppm, pdffonts, pdfinfo, qpdf --check: looking at and checking PDFs
  chromium                  # the web edition, tested in a real browser
  redis-server              # the job queue of `build.py --queue` (tests start their own)
)
if ! command -v npm >/dev/null; then
  packages+=(nodejs npm)    # axe-core, the accessibility checker run inside Chromium
fi
if ! "$PYTHON" -c "import ensurepip, venv" 2>/dev/null; then
  packages+=(python3-venv)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  --constraint constraints.txt --editable '.[test]'
if [[ ! -f node_modules/axe-core/axe.min.js ]]; then
  npm ci --no-audit --no-fund --silent
fi
