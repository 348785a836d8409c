#!/usr/bin/env bash
# Opens a caviar report.html in headless Chromium and saves a screenshot of it (a developer's tool:
# look at the page as a browser draws it, without a display).
#   scripts/screenshot_report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]
# Needs Debian's chromium (scripts/setup.sh installs it where it can).
# The page loads nothing from outside, so Chromium runs with the network off.
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 1 ] && exit 0 || exit 2
fi
page=$1
out=${2:-${page%.html}.png}
size=${3:-1280x4000}
[ -f "$page" ] || { echo "screenshot_report.sh: $page: no such file" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "screenshot_report.sh: chromium is missing (apt-get install chromium)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
url="file://$(realpath "$page")"
# --no-sandbox: Chromium refuses to run as root otherwise (containers).
"$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --proxy-server='127.0.0.1:9' --proxy-bypass-list='<-loopback>' \
  --window-size="${size/x/,}" --screenshot="$(realpath -m "$out")" "$url" >/dev/null 2>&1
[ -s "$out" ] || { echo "screenshot_report.sh: chromium wrote no screenshot" >&2; exit 1; }
echo "$out"
