#!/usr/bin/env bash
# Renders the application icon from its SVG source into every form the
# installers use. Run after changing the SVG; the outputs are committed.
#   Debian: apt-get install -y librsvg2-bin icnsutils imagemagick
set -euo pipefail
cd "$(dirname "$0")"
svg=icons/hicolor/scalable/apps/org.satchel.Satchel.svg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Linux (hicolor theme, installed by the .deb)
for s in 48 128 256; do
  rsvg-convert -w "$s" -h "$s" "$svg" -o "icons/hicolor/${s}x${s}/apps/org.satchel.Satchel.png"
done
for s in 16 32 48 64 128 256 512 1024; do
  rsvg-convert -w "$s" -h "$s" "$svg" -o "$tmp/$s.png"
done
# macOS (Satchel.app/Contents/Resources/Satchel.icns)
png2icns macos/Satchel.icns "$tmp"/{16,32,48,128,256,512,1024}.png >/dev/null
# Windows (the installer's and the shortcut's icon); ImageMagick 6 or 7
im=$(command -v magick || echo /usr/bin/convert)
"$im" "$tmp"/{16,32,48,64,256}.png windows/satchel.ico
echo "icons rendered from $svg"
