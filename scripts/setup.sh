#!/usr/bin/env bash
# Prepare a fresh Debian machine and a clean clone: the system libraries WeasyPrint and
# the checks need (installed only where missing, and only as root), then .venv with the
# Python packages at the versions recorded in constraints.txt, and the FOGRA39 colour
# profile of the default printer ticket (built once, kept out of git).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
packages=(
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1  # WeasyPrint
  ghostscript libgs-common  # total ink measurement; default_cmyk.icc for the printer ticket
  poppler-utils qpdf        # pdftoppm, pdffonts, pdfinfo, qpdf --check: looking at and checking PDFs
  icc-profiles-free argyll  # FOGRA39L characterisation data and colprof: the FOGRA39 profile
  chromium                  # the web edition, tested in a real browser
  redis-server              # the job queue of `build.py --queue` (tests start their own)
  gettext                   # xgettext, for Django's makemessages (`make portal-messages`)
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
# The interface's message catalogues (guidepress/locale/*/LC_MESSAGES/*.po -> .mo).
.venv/bin/pybabel compile --use-fuzzy --statistics --domain guidepress \
  --directory guidepress/locale
# The portal's (Django reads the same .mo format): portal/locale/*/LC_MESSAGES/django.po
.venv/bin/pybabel compile --domain django --directory portal/locale
# The npm packages (axe-core for the browser tests, @tabler/icons for the pictograms),
# installed again whenever package-lock.json changes: a checkout that had some of them
# before a new one was added gets it too.
if ! cmp -s package-lock.json node_modules/.installed-lock.json; then
  npm ci --no-audit --no-fund --silent
  cp package-lock.json node_modules/.installed-lock.json
fi

# The default ticket's output intent is FOGRA39 (offset on coated paper, ISO 12647-2), the
# condition French print shops ask for. Debian's free packages hold Fogra's measurements
# (FOGRA39L.ti3, zlib licence) but no FOGRA39 profile, so ArgyllCMS builds one.
# It takes 15 s of CPU, once; printers/generated/ is not in git.
FOGRA39=printers/generated/fogra39.icc
if [[ ! -s $FOGRA39 ]]; then
  echo "Building the FOGRA39 colour profile (under a minute, once)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp /usr/share/color/icc/FOGRA39L.ti3 "$work/fogra39.ti3"
  # -l300: conversions never exceed the ticket's 300 % total ink; -kr: black ramp (GCR)
  colprof -qm -kr -l300 -nc -A "guidepress" -M "FOGRA39" \
    -D "FOGRA39 (coated paper, ISO 12647-2:2004/Amd 1), built by guidepress with ArgyllCMS colprof from FOGRA39L.ti3; not Fogra's own profile" \
    -C "Characterisation data FOGRA39L: Fogra. FOGRA39L.ti3: Kai-Uwe Behrmann, zlib licence" \
    "$work/fogra39" >"$work/colprof.log" 2>&1 || { cat "$work/colprof.log" >&2; exit 1; }
  # colprof stamps the time into the header; a fixed date gives the same bytes on every
  # machine, and so the same PDFs.
  "$PYTHON" - "$work/fogra39.icc" <<'EOF'
import struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
assert data[36:40] == b"acsp" and data[16:20] == b"CMYK" and data[8] == 2  # v2: no profile ID
data[24:36] = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)
open(path, "wb").write(data)
EOF
  mkdir -p "$(dirname "$FOGRA39")"
  mv "$work/fogra39.icc" "$FOGRA39.tmp" && mv "$FOGRA39.tmp" "$FOGRA39"
fi
