#!/usr/bin/env bash
# First start of the bundled desktop on a real X display with the OS keyring, driven by
# key presses as a person would (part of packaging/smoke.sh step 4; run it inside
# `dbus-run-session`):
#   - an empty data folder asks for the first admin; Enter in the last field creates it;
#   - the main window opens and the session token is in the Secret Service keyring;
#   - Help → About opens the About box;
#   - the next start resumes the session from the keyring without asking.
# Usage: first_start.sh DESKTOP_PROGRAM WORK_DIR
set -euo pipefail
program=$1
work=$2
home="$work/home"
mkdir -p "$home"

# A throwaway login keyring, unlocked with a throwaway password (as tests/with-keyring.sh).
export XDG_DATA_HOME="$work/keyring"
eval "$(echo smoke-keyring | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
# Xvfb picks a free display itself (-displayfd), so nobody else's screen gets our keys.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" >"$work/xvfb.log" 2>&1 &
xvfb=$!
app=""
cleanup() {
    [ -n "$app" ] && kill "$app" 2>/dev/null || true
    kill "$xvfb" 2>/dev/null || true
    [ -n "${GNOME_KEYRING_PID:-}" ] && kill "$GNOME_KEYRING_PID" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || { cat "$work/xvfb.log" >&2; exit 1; }
display=":$(cat "$work/display")"
export DISPLAY=$display

start() {
    env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 DISPLAY="$display" TFOS_PORT=0 \
        DBUS_SESSION_BUS_ADDRESS="$DBUS_SESSION_BUS_ADDRESS" "$program" >>"$work/desktop.log" 2>&1 &
    app=$!
}
window() {  # window id of the visible window named $1 (a regex), waiting up to 30 s
    timeout 30 xdotool search --sync --onlyvisible --name "$1" | head -1
}
fail() {
    xwd -root -silent >"$work/failure.xwd" 2>/dev/null || true
    echo "first start: $*" >&2
    cat "$work/desktop.log" >&2
    exit 1
}
stop() {  # Ctrl+Q on the main window, again until it is taken (a fresh window may miss it)
    for _ in $(seq 20); do
        kill -0 "$app" 2>/dev/null || break
        xdotool windowfocus --sync "$(window "^TransactFlowOS — ")" key ctrl+q
        sleep 0.5
    done
    wait "$app" || fail "the desktop exited with $?"
    app=""
}

start
setup=$(window "^Set up TransactFlowOS$") || fail "no first-admin dialog"
xdotool windowfocus --sync "$setup"
xdotool key Tab  # no window manager here to give the first field the focus
xdotool type --delay 5 "Asha Menon"; xdotool key Tab
xdotool type --delay 5 asha; xdotool key Tab
xdotool type --delay 5 Smoke-Test-2026!; xdotool key Tab
xdotool type --delay 5 Smoke-Test-2026!; xdotool key Return
main=$(window "^TransactFlowOS — Asha Menon \(admin\)$") || fail "no main window after setup"
token=$(secret-tool lookup service TransactFlowOS username staff-session) \
    || fail "no session token in the Secret Service keyring"
[ -n "$token" ] || fail "an empty session token in the keyring"

xdotool windowfocus --sync "$main"
xdotool key alt+h Return
about=$(window "^About TransactFlowOS$") || fail "Help → About did not open the About box"
xdotool windowfocus --sync "$about" key Escape
stop

start
window "^TransactFlowOS — Asha Menon \(admin\)$" >/dev/null || fail "the session was not resumed"
if xdotool search --onlyvisible --name "^Sign in to TransactFlowOS$" >/dev/null 2>&1; then
    fail "asked to sign in again although the keyring holds the session"
fi
stop
echo "first start: asked for the first admin, kept the session in the OS keyring, resumed it"
