#!/bin/sh
# Run a command with a real, unlocked Secret Service (gnome-keyring) on this D-Bus session,
# requiring the real parts the tests need (the keyring, Chromium, Xvfb, the gcloud Firestore
# emulator): a missing one fails its tests instead of skipping them.
# Used by `make test` under dbus-run-session; the test password unlocks a throwaway keyring.
home="$(mktemp -d)"
export XDG_DATA_HOME="$home"
export TFOS_REQUIRE_KEYRING=1 TFOS_REQUIRE_BROWSER=1 TFOS_REQUIRE_XVFB=1
export TFOS_REQUIRE_FIRESTORE=1  # the gcloud Firestore emulator must be here too
eval "$(echo testpw | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
"$@"
rc=$?
rm -rf "$home"
exit $rc
