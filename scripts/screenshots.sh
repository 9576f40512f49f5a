#!/usr/bin/env bash
# Screenshots of the desktop window under Xvfb, into docs/screenshots/:
#   demo-list.png      the demo mailbox (--demo), as it opens
#   demo-message.png   the same after clicking the first message
#   server.png         a profile synced from a private Dovecot, online
#   server-message.png the same after clicking the first message (body from the server)
# Fails when the window does not appear or a screenshot is (nearly) one
# colour. Needs: xvfb, xdotool, imagemagick, dovecot-imapd (as for
# scripts/test.sh). Safe to run again: it overwrites the PNGs.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in Xvfb xdotool import convert compare; do
  command -v "$tool" >/dev/null || {
    echo "screenshots: $tool is missing; install xvfb xdotool imagemagick" >&2
    exit 1
  }
done

echo "== cargo build"
cargo build -q -p satchel --bin satchel
cargo build -q -p satchel-tests --bin screenshot_server
bin=target/debug
out=docs/screenshots
mkdir -p "$out"

work=$(mktemp -d)
pids=()
server_in=
cleanup() {
  # The app and Xvfb by their ids; the server stops Dovecot itself once its
  # stdin closes (killing it would leave Dovecot running).
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$server_in" ]; then
    eval "exec $server_in>&-"
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Xvfb chooses a free display and writes its number when it is ready.
Xvfb -displayfd 3 -nolisten tcp -screen 0 1280x800x24 3>"$work/display" 2>"$work/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || { echo "screenshots: Xvfb did not start: $(cat "$work/xvfb.log")" >&2; exit 1; }
export DISPLAY=":$(head -n1 "$work/display")"
export XDG_RUNTIME_DIR="$work/runtime"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY

# Fails unless the picture has some variety: a blank or black window has
# (nearly) one colour.
check_not_blank() {
  local sd colours
  sd=$(convert "$1" -format '%[fx:standard_deviation]' info:)
  colours=$(convert "$1" -format '%k' info:)
  if awk -v sd="$sd" -v c="$colours" 'BEGIN { exit !(sd < 0.02 || c < 16) }'; then
    echo "screenshots: $1 looks blank (standard deviation $sd, $colours colours)" >&2
    return 1
  fi
}

# Waits for the window and for its first real frame; prints the window id.
wait_window() {
  local wid
  wid=$(timeout 30 xdotool search --sync --onlyvisible --name 'Satchel' | head -n1) || true
  if [ -z "$wid" ]; then
    echo "screenshots: no Satchel window within 30 s; app log:" >&2
    cat "$work/app.log" >&2
    return 1
  fi
  for _ in $(seq 60); do
    import -window "$wid" "$work/probe.png" 2>/dev/null && check_not_blank "$work/probe.png" 2>/dev/null && break
    sleep 0.5
  done
  echo "$wid"
}

# shot WID FILE: the window alone, pointer moved off it (no hover highlight).
shot() {
  xdotool mousemove 1270 790
  sleep 1
  import -window "$1" "$2"
  check_not_blank "$2"
  echo "   $2 ($(convert "$2" -format '%wx%h' info:))"
}

# How many pixels of two same-sized pictures differ (AE may print 1.2e+06).
differ() {
  compare -metric AE "$1" "$2" null: 2>&1 | awk '{ printf "%d", $1 }' || true
}

# open_first WID BEFORE AFTER: click the first message row (below the list header with "Threads"), wait for the
# reader to change the picture, screenshot.
open_first() {
  xdotool mousemove --window "$1" 500 80 click 1
  for _ in $(seq 20); do
    sleep 0.5
    import -window "$1" "$work/probe.png"
    [ "$(differ "$2" "$work/probe.png")" -gt 5000 ] && break
  done
  sleep 1
  shot "$1" "$3"
  local n
  n=$(differ "$2" "$3")
  if [ "$n" -le 5000 ]; then
    echo "screenshots: clicking a message changed only $n pixels" >&2
    return 1
  fi
}

start_app() {
  "$bin/satchel" "$@" >"$work/app.log" 2>&1 &
  app_pid=$!
  pids+=("$app_pid")
}

stop_app() {
  kill "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
}

echo "== demo mailbox"
start_app --demo --profile "$work/demo"
wid=$(wait_window)
shot "$wid" "$out/demo-list.png"
open_first "$wid" "$out/demo-list.png" "$out/demo-message.png"
stop_app

echo "== profile synced from a private Dovecot"
coproc SERVER { exec "$bin/screenshot_server" "$work/server"; }
server_pid=$SERVER_PID
server_in=${SERVER[1]}
read -r -t 30 ready <&"${SERVER[0]}" || true
[ "${ready:-}" = ready ] || { echo "screenshots: the test server did not start" >&2; exit 1; }
"$bin/satchel" --profile "$work/server" sync
start_app --profile "$work/server"
wid=$(wait_window)
# Give the engine time to log in (the status bar then says online).
sleep 3
shot "$wid" "$out/server.png"
open_first "$wid" "$out/server.png" "$out/server-message.png"
stop_app
echo "== done: $out"
