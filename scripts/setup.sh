#!/usr/bin/env bash
# One-shot set-up on a fresh Debian machine: system packages, a virtual
# environment in .venv with the pinned CPU-tested torch/torchaudio pair, and
# this package (editable) with its test tools. Safe to run again: it only
# reinstalls when setup.cfg or requirements-torch.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# fillets-ng-data-nl + fillets-ng-data: 91 minutes of real human Dutch speech (GPL-2,
# read where Debian puts them by recipes/FishFilletsNL; never copied into this repository)
APT_PACKAGES="espeak-ng sox libsndfile1 fillets-ng-data-nl fillets-ng-data"
missing=""
for pkg in $APT_PACKAGES; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "[setup] apt-get install$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "[setup] please install:$missing (sudo apt-get install$missing)" >&2
    fi
fi

PYTHON="${PYTHON:-python3}"
stamp=".venv/.setup-stamp"
want="$(cat setup.cfg requirements-torch.txt | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "[setup] .venv is up to date"
    exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
echo "[setup] installing torch/torchaudio (requirements-torch.txt)"
.venv/bin/python -m pip install -q -r requirements-torch.txt
echo "[setup] installing speechbrain-subtitle (editable) with test tools"
.venv/bin/python -m pip install -q -c requirements-torch.txt -e ".[dev]"
echo "$want" > "$stamp"
echo "[setup] done"
