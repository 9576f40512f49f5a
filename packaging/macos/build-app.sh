#!/usr/bin/env bash
# Builds Satchel.app and a .dmg on macOS (untested here: see README.md).
#
# Usage: packaging/macos/build-app.sh [aarch64|x86_64|universal] [--no-dmg]
#   aarch64    Apple silicon (aarch64-apple-darwin), the default on Apple silicon
#   x86_64     Intel (x86_64-apple-darwin), the default on Intel Macs
#   universal  both, joined with lipo into one binary
# Output: target/macos/Satchel.app and target/macos/Satchel-<version>-<arch>.dmg
#
# Needs Xcode's command line tools (xcode-select --install) and rustup.
# SATCHEL_BIN=path/to/satchel skips the cargo build and bundles that binary;
# on a system other than macOS only the bundle is assembled (no signing, no
# .dmg), which is how its layout was checked on Linux.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

case $(uname -m) in arm64|aarch64) arch=aarch64 ;; *) arch=x86_64 ;; esac
dmg=1
for arg in "$@"; do
  case $arg in
    aarch64|x86_64|universal) arch=$arg ;;
    --no-dmg) dmg=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
on_mac=0
[ "$(uname -s)" = Darwin ] && on_mac=1

pkgid=$(cargo pkgid -p satchel)
version=${pkgid##*[#@]}
target_dir=${CARGO_TARGET_DIR:-$root/target}

if [ -n "${SATCHEL_BIN:-}" ]; then
  bin=$SATCHEL_BIN
else
  [ "$on_mac" = 1 ] || { echo "build on macOS, or set SATCHEL_BIN" >&2; exit 1; }
  # The deployment target must match LSMinimumSystemVersion in Info.plist.in.
  export MACOSX_DEPLOYMENT_TARGET=11.0
  case $arch in
    universal) triples=(aarch64-apple-darwin x86_64-apple-darwin) ;;
    *) triples=("$arch-apple-darwin") ;;
  esac
  bins=()
  for t in "${triples[@]}"; do
    rustup target add "$t"
    cargo build --release -p satchel --target "$t"
    bins+=("$target_dir/$t/release/satchel")
  done
  if [ "$arch" = universal ]; then
    bin=$target_dir/macos/satchel-universal
    mkdir -p "$(dirname "$bin")"
    lipo -create -output "$bin" "${bins[@]}"
  else
    bin=${bins[0]}
  fi
fi

out=$target_dir/macos
app=$out/Satchel.app
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp "$bin" "$app/Contents/MacOS/satchel"
chmod 755 "$app/Contents/MacOS/satchel"
# [profile.release] keeps line tables; the bundle ships without them.
if [ "$on_mac" = 1 ]; then strip -S "$app/Contents/MacOS/satchel"; fi
sed "s/@VERSION@/$version/g" packaging/macos/Info.plist.in > "$app/Contents/Info.plist"
printf 'APPL????' > "$app/Contents/PkgInfo"
cp resources/macos/Satchel.icns "$app/Contents/Resources/Satchel.icns"
echo "assembled $app ($version, $arch)"

[ "$on_mac" = 1 ] || exit 0

plutil -lint "$app/Contents/Info.plist"
# Ad-hoc signature: enough to run on this Mac (Apple silicon refuses
# unsigned code). Distribution needs a Developer ID identity
# (codesign --sign "Developer ID Application: ..." --options runtime) and
# notarisation (xcrun notarytool submit ... --wait; xcrun stapler staple).
codesign --force --deep --sign "${CODESIGN_IDENTITY:--}" "$app"
codesign --verify --verbose=2 "$app"

if [ "$dmg" = 1 ]; then
  staging=$(mktemp -d)
  trap 'rm -rf "$staging"' EXIT
  cp -R "$app" "$staging/"
  ln -s /Applications "$staging/Applications"
  image=$out/Satchel-$version-$arch.dmg
  rm -f "$image"
  hdiutil create -volname Satchel -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$image"
  hdiutil verify "$image"
  echo "built $image"
fi
