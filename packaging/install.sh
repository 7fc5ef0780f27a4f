#!/usr/bin/env bash
# Set up vaddesk from this source tree on a Debian/Ubuntu machine.
#   bash packaging/install.sh          system libraries + .venv with the app
#   bash packaging/install.sh --dev    ... plus what the tests need (test tools, reference runtime)
#   bash packaging/install.sh --dev --bench   ... plus bench_accuracy.py's comparison systems
# System packages are installed with apt-get when run as root (or with sudo when available).
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
bench=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --bench) bench=1 ;;  # bench/bench_accuracy.py's comparison systems (see pyproject, bench)
  esac
done

# Libraries the app itself loads: PortAudio for sounddevice, libpulse for soundcard (computer
# audio), EGL/GL/fontconfig/xcb for Qt; a C
# compiler and the Python headers build the exact fbank (vaddesk/core/_fbank.c) at install.
app_pkgs="gcc libc6-dev libpython3-dev libportaudio2 libpulse0 libegl1 libgl1 libfontconfig1 fonts-dejavu-core libglib2.0-0 libdbus-1-3
  libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1"
# Test-only tools: speech synthesis and encoders for the generated corpus, a virtual microphone,
# an X server for screenshots.
dev_pkgs="espeak-ng sox ffmpeg pulseaudio pulseaudio-utils libasound2-plugins xvfb xauth
  imagemagick binutils"

pkgs="$app_pkgs"
[ $dev = 1 ] && pkgs="$pkgs $dev_pkgs"
# TEN VAD's shared library links libc++; espeak-ng builds the accuracy set; alsa-utils ships
# the real voice of bench_sensitivity.py (/usr/share/sounds/alsa)
[ $bench = 1 ] && pkgs="$pkgs libc++1 espeak-ng alsa-utils"
missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "Please install: $missing" >&2; exit 1; fi
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ $dev = 1 ]; then
  # the tests check the compiled frontend: a failed compile must fail here, loudly
  VADDESK_REQUIRE_NATIVE=1 .venv/bin/python -m pip install -q -e ".[dev,package]"
else
  .venv/bin/python -m pip install -q .
fi
if [ $bench = 1 ]; then
  if [ $dev = 1 ]; then .venv/bin/python -m pip install -q -e ".[bench]"
  else .venv/bin/python -m pip install -q ".[bench]"; fi
  # silero-vad's wheel carries the ONNX model; --no-deps keeps torch out (not needed)
  .venv/bin/python -m pip install -q --no-deps "silero-vad==6.2.3"
fi
echo "vaddesk installed in $(pwd)/.venv"
