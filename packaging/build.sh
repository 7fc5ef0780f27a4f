#!/usr/bin/env bash
# Build the one-folder app dist/vaddesk/ (executables vaddesk and vaddesk-gui, models, resources)
# from a fresh clone, and check it: the bundle's own --self-test must pass, else the build fails
# and leaves no bundle in dist/.
#   bash packaging/build.sh            makes/updates .venv (the app + the `package` extra)
#   PYTHON=/path/to/python bash packaging/build.sh   uses that interpreter's environment as is
#   bash packaging/build.sh --archive  ... and packs dist/vaddesk-<version>-<os>-<arch>.tar.gz
#                                      (os: linux, macos or windows)
# Needs a C compiler (the exact fbank, vaddesk/core/_fbank.c, is part of every bundle) and, on
# Linux, libportaudio2 (copied in): packaging/install.sh installs both on Debian/Ubuntu.
set -euo pipefail
cd "$(dirname "$0")/.."

archive=0
[ "${1:-}" = "--archive" ] && archive=1

exe=""
case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=macos ;;
  MINGW* | MSYS* | CYGWIN*) os=windows; exe=".exe" ;;
  *) os=$(uname -s | tr '[:upper:]' '[:lower:]') ;;
esac
bundle=dist/vaddesk
cli="$bundle/vaddesk$exe"

# Whatever happens below, a failed build leaves no bundle behind (nor an old one: a bundle in
# dist/ is always one that passed its self-test).
rm -rf "$bundle"
built=0
cleanup() {
  if [ $built = 0 ] && [ -e "$bundle" ]; then
    rm -rf "$bundle"
    echo "build.sh: removed the unfinished $bundle" >&2
  fi
}
trap cleanup EXIT

start=$(date +%s)
python="${PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x .venv/bin/python ]; then python=.venv/bin/python
  elif [ -x .venv/Scripts/python.exe ]; then python=.venv/Scripts/python.exe
  else
    python3 -m venv .venv
    if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=.venv/Scripts/python.exe; fi
  fi
  # The app and PyInstaller; the editable install compiles the fbank in place, and must.
  VADDESK_REQUIRE_NATIVE=1 "$python" -m pip install -q -e ".[package]"
fi

# The bundle takes vaddesk from this tree (packaging/vaddesk.spec), so the compiled fbank must
# be here, built now for this interpreter (--force: never an older build's leftover).
"$python" -c "import setuptools" 2>/dev/null || "$python" -m pip install -q "setuptools>=69"
VADDESK_REQUIRE_NATIVE=1 "$python" setup.py -q build_ext --inplace --force

"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/vaddesk.spec
# The interpreter's own libraries may carry debug info (a pyenv build does: ~30 MB). Only debug
# sections are removed, and only from Python's files: strip on the whole bundle broke OpenBLAS.
if [ "$(uname -s)" = Linux ] && command -v strip >/dev/null; then
  find "$bundle/_internal" -maxdepth 1 -name 'libpython3*.so*' -exec strip --strip-debug {} +
  find "$bundle/_internal" -path '*/lib-dynload/*.so' -exec strip --strip-debug {} +
fi
# What a downloaded bundle needs to install itself into ~/.local (see docs/packaging.md).
if [ "$(uname -s)" = Linux ]; then
  cp packaging/linux/vaddesk.desktop packaging/linux/install-local.sh "$bundle/"
fi
end=$(date +%s)
size=$(du -sh "$bundle" | cut -f1)
echo "built $bundle ($size) in $((end - start)) s"

# The bundle checks itself as a user would run it: nothing from this tree or its environment
# (PYTHONPATH, a models override) may leak in; logs and settings go to a scratch folder.
scratch=$(mktemp -d)
if ! env -u PYTHONPATH -u PYTHONHOME -u VADDESK_MODELS_DIR QT_QPA_PLATFORM=offscreen \
    VADDESK_LOG_DIR="$scratch/log" VADDESK_CONFIG_DIR="$scratch/config" "$cli" --self-test; then
  rm -rf "$scratch"
  echo "build.sh: the bundle's self-test FAILED (see the lines above)" >&2
  exit 1
fi
rm -rf "$scratch"
built=1
echo "self-test passed: $bundle is ready"

if [ $archive = 1 ]; then
  version=$("$cli" --version | cut -d' ' -f2)
  name="vaddesk-$version-$os-$(uname -m).tar.gz"
  tar czf "dist/$name.tmp" -C dist vaddesk
  mv "dist/$name.tmp" "dist/$name"
  echo "packed dist/$name ($(du -h "dist/$name" | cut -f1))"
fi
