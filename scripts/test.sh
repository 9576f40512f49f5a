#!/usr/bin/env bash
# Runs Satchel's whole test suite. Installs what the tests need first
# (Dovecot from Debian's packages) when run as root; otherwise says what to
# install. Nothing is skipped: a test that cannot start its server fails.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-core dovecot-imapd)
# The SMTP tests (tests/src/postfix.rs): a private Postfix that hands mail
# to the test Dovecot over LMTP and checks passwords through Dovecot's auth.
[ -x /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
[ -x /usr/sbin/postfix ] || missing+=(postfix)
# A D-Bus session with a Secret Service, for the OS-keyring test.
command -v dbus-run-session >/dev/null || missing+=(dbus)
command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
# The desktop-notification test (app/tests/notify.rs): a virtual display,
# a notification server, and what the window needs to open on it (the X11
# libraries winit loads at run time, a font).
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v dunst >/dev/null || missing+=(dunst)
libs=$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true)
[[ $libs == *libxkbcommon-x11.so.0* ]] || missing+=(libxkbcommon-x11-0)
[[ $libs == *libXcursor.so.1* ]] || missing+=(libxcursor1)
[[ $libs == *libXi.so.6* ]] || missing+=(libxi6)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# The screenshot check (scripts/screenshots.sh): drives and grabs the window.
command -v xdotool >/dev/null || missing+=(xdotool)
command -v convert >/dev/null || missing+=(imagemagick)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing ${missing[*]}"
    apt-get update -qq
    # Postfix unconfigured ("No configuration"): no system-wide main.cf, so
    # no system mailer is set up; the tests run private instances.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    # The package would start a system-wide Dovecot; the tests run their own.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Nor is a system Postfix left running, should the package have started one.
    if [[ " ${missing[*]} " == *" postfix "* ]] && [ -e /etc/postfix/main.cf ]; then
      postfix stop >/dev/null 2>&1 || true
    fi
  else
    echo "The tests need: ${missing[*]}. Install them with:" >&2
    echo "  echo 'postfix postfix/main_mailer_type select No configuration' | sudo debconf-set-selections" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# No incremental caches: they only help repeated local builds and cost
# disk, which a CI machine may have little of (see Cargo.toml's profiles).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "== cargo test (workspace: unit, integration and end-to-end tests)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The suite runs inside a private D-Bus session whose keyring daemon keeps
# its files in a throw-away folder (never the user's own login keyring).
keyring_home=$(mktemp -d)
chmod 700 "$keyring_home"
set +e
dbus-run-session -- bash -c '
  printf "%s\n" satchel-test-keyring |
    XDG_DATA_HOME="$1" XDG_RUNTIME_DIR="$1" gnome-keyring-daemon --unlock --components=secrets >/dev/null
  shift
  exec cargo test --workspace --locked --tests "$@"
' bash "$keyring_home" "$@" 2>&1 | grep --line-buffered -v "Failed to set fd limit" | tee "$log"
status=${PIPESTATUS[0]}
set -e
rm -rf "$keyring_home"
# The window under Xvfb, screenshotted; fails on a missing or blank window.
echo "== scripts/screenshots.sh (the window under Xvfb)"
if bash scripts/screenshots.sh; then
  echo "test result: ok. 1 passed; 0 failed (screenshots)" | tee -a "$log"
else
  echo "test result: FAILED. 0 passed; 1 failed (screenshots)" | tee -a "$log"
  status=1
fi
# One closing line over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
