#!/usr/bin/env bash
# Installs the Debian packages Switchboard needs to run and to be tested, if any are missing.
# Idempotent and quick when everything is there (one dpkg query, no apt-get at all).
set -euo pipefail

packages=(
  sip-tester            # sipp: load tests, benchmarks, end-to-end tests
  baresip-core          # a real softphone as caller in end-to-end tests
  sox libsox-fmt-all    # audio generation and measurement in tests
  espeak-ng             # regenerating the example prompts (sounds/generate.sh)
  multimon-ng           # reference DTMF decoder, cross-checks our in-band detector
  pocketsphinx-testdata # real recorded speech (talk-off and recording tests)
  pkg-config
  cmake clang libclang-dev  # building whisper.cpp (whisper-rs) and espeak-ng bindings
  libsonic-dev espeak-ng-data  # piper's phonemizer (espeak-ng) links sonic and reads its data
  chromium chromium-driver     # headless browser for the web UI's end-to-end test
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
