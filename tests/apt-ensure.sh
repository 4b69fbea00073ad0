#!/bin/sh
# Install the named Debian packages that are missing; say clearly what to do when we cannot.
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"
else
    echo "TransactFlowOS needs these Debian packages:$missing" >&2
    echo "You are not root and sudo is not available: ask an administrator to run" >&2
    echo "    apt-get install$missing" >&2
    exit 1
fi
echo "Installing Debian packages:$missing"
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
