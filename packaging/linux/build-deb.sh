#!/usr/bin/env bash
# Builds the Debian package of Satchel with cargo-deb:
#   target/debian/satchel_<version>-1_<arch>.deb        (the program)
#   target/debian/satchel-dbgsym_<version>-1_<arch>.ddeb (its debug info)
# The metadata (depends, assets, ...) is [package.metadata.deb] in
# app/Cargo.toml; the desktop file, AppStream metadata and icons come from
# resources/.
#
# Usage: packaging/linux/build-deb.sh [--no-build] [--check] [--install-test]
#   --no-build      package the release binary already in target/release
#   --check         validate the desktop file and metainfo and list the .deb
#   --install-test  (root, throw-away machines only) dpkg -i the package, run
#                   `satchel --help`, then dpkg -r it again
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

build=1 check=0 install_test=0
for arg in "$@"; do
  case $arg in
    --no-build) build=0 ;;
    --check) check=1 ;;
    --install-test) install_test=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

if ! cargo deb --version >/dev/null 2>&1; then
  echo "cargo-deb is missing: cargo install cargo-deb --locked" >&2
  exit 1
fi
# The dbgsym split needs objcopy; the Depends line needs dpkg-shlibdeps.
for tool in objcopy dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y binutils dpkg-dev" >&2; exit 1; }
done

args=(-p satchel)
[ "$build" = 1 ] || args+=(--no-build)
# cargo-deb prints the path of the .deb it wrote as its last line.
deb=$(cargo deb "${args[@]}" | tail -n 1)
[ -f "$deb" ] || { echo "cargo deb did not report a package (got: $deb)" >&2; exit 1; }
echo "built $deb ($(stat -c %s "$deb") bytes)"

if [ "$check" = 1 ]; then
  if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate resources/linux/org.satchel.Satchel.desktop && echo "desktop file: valid"
  else
    echo "desktop-file-validate missing (apt-get install desktop-file-utils): skipped"
  fi
  if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net resources/linux/org.satchel.Satchel.metainfo.xml
  else
    echo "appstreamcli missing (apt-get install appstream): skipped"
  fi
  dpkg-deb --info "$deb"
  dpkg-deb --contents "$deb"
fi

if [ "$install_test" = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "--install-test needs root" >&2; exit 1; }
  if dpkg -s satchel >/dev/null 2>&1; then
    echo "a satchel package is already installed; not touching it" >&2
    exit 1
  fi
  # Depends that are missing would leave dpkg -i half done: pull them in
  # with apt first (they are ordinary Debian packages).
  apt-get install -y -qq --no-install-recommends "$(realpath "$deb")" >/dev/null
  trap 'dpkg -r satchel >/dev/null' EXIT
  command -v satchel
  satchel --help >/dev/null && echo "satchel --help: ok"
  test -f /usr/share/applications/org.satchel.Satchel.desktop
  test -f /usr/share/icons/hicolor/256x256/apps/org.satchel.Satchel.png
  echo "installed files present; removing the package"
fi
