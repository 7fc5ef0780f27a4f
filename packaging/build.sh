#!/usr/bin/env bash
# Build the one-folder app: dist/vaddesk/ (executables vaddesk and vaddesk-gui, models, resources).
#   bash packaging/build.sh            uses .venv/bin/python (from packaging/install.sh --dev)
#   PYTHON=/path/to/python bash packaging/build.sh
#   bash packaging/build.sh --archive  ... and pack it as dist/vaddesk-<version>-linux-<arch>.tar.gz
# Needs PyInstaller (`pip install -e ".[package]"`) and, on Linux, libportaudio2 (copied in).
set -euo pipefail
cd "$(dirname "$0")/.."

archive=0
[ "${1:-}" = "--archive" ] && archive=1

python="${PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi

start=$(date +%s)
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/vaddesk.spec
# The interpreter's own libraries may carry debug info (a pyenv build does: ~30 MB). Only debug
# sections are removed, and only from Python's files: strip on the whole bundle broke OpenBLAS.
if command -v strip >/dev/null; then
  find dist/vaddesk/_internal -maxdepth 1 -name 'libpython3*.so*' -exec strip --strip-debug {} +
  find dist/vaddesk/_internal -path '*/lib-dynload/*.so' -exec strip --strip-debug {} +
fi
# What a downloaded bundle needs to install itself into ~/.local (see README).
if [ "$(uname -s)" = Linux ]; then
  cp packaging/linux/vaddesk.desktop packaging/linux/install-local.sh dist/vaddesk/
fi
end=$(date +%s)

size=$(du -sh dist/vaddesk | cut -f1)
echo "built dist/vaddesk ($size) in $((end - start)) s"

if [ $archive = 1 ]; then
  version=$(dist/vaddesk/vaddesk --version | cut -d' ' -f2)
  name="vaddesk-$version-$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m).tar.gz"
  tar czf "dist/$name.tmp" -C dist vaddesk
  mv "dist/$name.tmp" "dist/$name"
  echo "packed dist/$name ($(du -h "dist/$name" | cut -f1))"
fi
