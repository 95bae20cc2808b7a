#!/usr/bin/env bash
# Install the built one-folder app for the current user (no root):
#   packaging/linux/install.sh [PREFIX]        # PREFIX defaults to ~/.local
# Copies packaging/dist/lrdoctor to PREFIX/opt/lrdoctor, links PREFIX/bin/lrdoctor,
# and installs the .desktop entry and the icons into PREFIX/share.
# Undo: packaging/linux/install.sh --uninstall [PREFIX]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pkg="$(cd "$here/.." && pwd)"
uninstall=0
if [ "${1:-}" = "--uninstall" ]; then uninstall=1; shift; fi
prefix="${1:-$HOME/.local}"
share="$prefix/share"

if [ $uninstall = 1 ]; then
  rm -rf "$prefix/opt/lrdoctor"
  rm -f "$prefix/bin/lrdoctor" "$share/applications/lrdoctor.desktop" \
        "$share/icons/hicolor/scalable/apps/lrdoctor.svg" "$share"/icons/hicolor/*x*/apps/lrdoctor.png
  echo "removed lrdoctor from $prefix"
  exit 0
fi

dist="$pkg/dist/lrdoctor"
[ -x "$dist/lrdoctor" ] || { echo "no build in $dist: run packaging/build.sh first" >&2; exit 1; }
mkdir -p "$prefix/opt" "$prefix/bin" "$share/applications" "$share/icons/hicolor/scalable/apps"
rm -rf "$prefix/opt/lrdoctor"
cp -a "$dist" "$prefix/opt/lrdoctor"
ln -sfn "$prefix/opt/lrdoctor/lrdoctor" "$prefix/bin/lrdoctor"
# Exec= with the absolute path: desktop sessions often lack ~/.local/bin in PATH.
sed -e "s|^Exec=lrdoctor|Exec=$prefix/opt/lrdoctor/lrdoctor|" \
    -e "s|^TryExec=lrdoctor|TryExec=$prefix/opt/lrdoctor/lrdoctor|" \
    "$here/lrdoctor.desktop" > "$share/applications/lrdoctor.desktop"
cp "$pkg/icons/lrdoctor.svg" "$share/icons/hicolor/scalable/apps/lrdoctor.svg"
for png in "$pkg"/icons/lrdoctor-*.png; do
  n="$(basename "$png" .png)"; n="${n#lrdoctor-}"
  mkdir -p "$share/icons/hicolor/${n}x${n}/apps"
  cp "$png" "$share/icons/hicolor/${n}x${n}/apps/lrdoctor.png"
done
command -v update-desktop-database >/dev/null && update-desktop-database -q "$share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$share/icons/hicolor" || true
echo "installed: $prefix/bin/lrdoctor and the lrdoctor menu entry"
