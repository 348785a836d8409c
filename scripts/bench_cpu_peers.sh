#!/usr/bin/env bash
# Installs the CPU peers (Debian's python3-torch, python3-sklearn) if missing, builds caviar, and
# runs scripts/bench_cpu_peers.py: caviar and its peers on one machine in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for p in python3-torch python3-sklearn python3-numpy; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
scripts/setup.sh
# Debian's packages belong to Debian's interpreter, whatever python3 is first on PATH.
# MLPs, then CNNs (the same script with --cnn).
/usr/bin/python3 scripts/bench_cpu_peers.py build/caviar
exec /usr/bin/python3 scripts/bench_cpu_peers.py build/caviar --cnn
