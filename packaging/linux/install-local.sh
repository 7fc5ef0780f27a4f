#!/usr/bin/env bash
# Install the vaddesk bundle for the current user (no root), or remove it again.
#
#   bash install-local.sh [BUNDLE_DIR]     install (default: the bundle this script sits in,
#                                          else dist/vaddesk of the source tree)
#   bash install-local.sh --uninstall      remove everything the install put there
#
# Where things go (PREFIX defaults to ~/.local):
#   PREFIX/opt/vaddesk/                      the bundle (replaced as a whole on reinstall)
#   PREFIX/bin/vaddesk, vaddesk-gui          links to its executables
#   PREFIX/share/applications/vaddesk.desktop
#   PREFIX/share/icons/hicolor/<N>x<N>/apps/vaddesk.png and scalable/apps/vaddesk.svg
set -euo pipefail

prefix="${PREFIX:-$HOME/.local}"
opt="$prefix/opt/vaddesk"
apps="$prefix/share/applications"
icons="$prefix/share/icons/hicolor"
sizes="16 24 32 48 64 128 256 512"
here="$(cd "$(dirname "$0")" && pwd)"

refresh_caches() {
  # Menus pick up the change without a re-login where these tools exist; harmless otherwise.
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" || true
  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$icons" || true
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$opt"
  for exe in vaddesk vaddesk-gui; do
    # Only our own links: never a vaddesk installed some other way (pip, a package).
    link="$prefix/bin/$exe"
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$opt/$exe" ]; then rm -f "$link"; fi
  done
  rm -f "$apps/vaddesk.desktop"
  for n in $sizes; do rm -f "$icons/${n}x${n}/apps/vaddesk.png"; done
  rm -f "$icons/scalable/apps/vaddesk.svg"
  refresh_caches
  echo "vaddesk removed from $prefix"
  exit 0
fi

bundle="${1:-}"
if [ -z "$bundle" ]; then
  if [ -x "$here/vaddesk" ] && [ -d "$here/_internal" ]; then bundle="$here"
  else bundle="$here/../../dist/vaddesk"; fi
fi
if [ ! -x "$bundle/vaddesk" ] || [ ! -d "$bundle/_internal" ]; then
  echo "no vaddesk bundle in $bundle (build one with: bash packaging/build.sh)" >&2
  exit 1
fi
bundle="$(cd "$bundle" && pwd)"
desktop_src="$bundle/vaddesk.desktop"
[ -f "$desktop_src" ] || desktop_src="$here/vaddesk.desktop"
icon_src="$bundle/_internal/resources/icons"

# Copy beside the old install, then swap: an interrupted copy never leaves a broken app.
mkdir -p "$prefix/opt" "$prefix/bin" "$apps"
rm -rf "$opt.new"
cp -a "$bundle" "$opt.new"
rm -rf "$opt"
mv "$opt.new" "$opt"

ln -sfn "$opt/vaddesk" "$prefix/bin/vaddesk"
ln -sfn "$opt/vaddesk-gui" "$prefix/bin/vaddesk-gui"

# Absolute paths: a desktop session's PATH often lacks ~/.local/bin.
sed -e "s|^Exec=.*|Exec=$opt/vaddesk-gui %F|" -e "s|^TryExec=.*|TryExec=$opt/vaddesk-gui|" \
  "$desktop_src" > "$apps/vaddesk.desktop.tmp"
mv "$apps/vaddesk.desktop.tmp" "$apps/vaddesk.desktop"

for n in $sizes; do
  mkdir -p "$icons/${n}x${n}/apps"
  cp "$icon_src/vaddesk-$n.png" "$icons/${n}x${n}/apps/vaddesk.png"
done
mkdir -p "$icons/scalable/apps"
cp "$icon_src/vaddesk.svg" "$icons/scalable/apps/vaddesk.svg"
refresh_caches

echo "vaddesk installed in $opt"
echo "  menu entry: $apps/vaddesk.desktop"
echo "  command:    $prefix/bin/vaddesk (add $prefix/bin to PATH if it is not there)"
