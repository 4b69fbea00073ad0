#!/usr/bin/env bash
# The installable desktop as an office gets it (run by .ci/run after `make test`):
#   1. build the package (make package);
#   2. unpack the .deb into an empty root (dpkg-deb -x);
#   3. with env -i (HOME, a system PATH, LANG): bundled `tfos demo-data` and `tfos wal verify`
#      on a fresh data folder, which must be the platform's user data folder;
#   4. the bundled desktop with --screenshots offscreen: every view rendered, as from the .venv
#      (and timed against it); the first start on a real X display with the OS keyring;
#   5. bundled `tfos serve`: /healthz answers, the member page and its static files are served;
#   6. dpkg -i the .deb (as root), the installed `tfos --help`, dpkg -r.
# Prints the figures and ends with one JSON line. Needs root or sudo for steps 1 and 6.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
py="$repo/.venv/bin/python"
began=$EPOCHREALTIME
work=$(mktemp -d /tmp/tfos-smoke.XXXXXX)
server=""
cleanup() {
    status=$?
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    if [ "$status" = 0 ]; then rm -rf "$work"; else echo "smoke: failed; its files are in $work" >&2; fi
}
trap cleanup EXIT
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
since() { "$py" -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$1" "$EPOCHREALTIME"; }
die() { echo "smoke: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }
# As from an office's menu: nothing of this checkout around (no .venv, no PYTHONPATH).
office_env=(env -i HOME="$work/home" PATH=/usr/bin:/bin LANG=C.UTF-8)
bare() { "${office_env[@]}" "$@"; }

if dpkg-query -W -f '${Status}' transactflowos 2>/dev/null | grep -q "ok installed"; then
    echo "transactflowos is installed on this machine; step 6 would replace and remove it." >&2
    echo "Remove it first (dpkg -r transactflowos), then run this again." >&2
    exit 1
fi

step "1. make package"
t0=$EPOCHREALTIME
make package
build_s=$(since "$t0")
deb=$(ls dist/transactflowos_*.deb)
echo "built $deb in $build_s s"

step "2. dpkg-deb -x into an empty root"
dpkg-deb -x "$deb" "$work/root"
app="$work/root/opt/transactflowos"
for file in opt/transactflowos/transactflowos opt/transactflowos/tfos \
    usr/share/applications/transactflowos.desktop usr/share/icons/hicolor/48x48/apps/transactflowos.png \
    usr/share/icons/hicolor/scalable/apps/transactflowos.svg; do
    [ -e "$work/root/$file" ] || die "the .deb has no /$file"
done
for program in transactflowos tfos; do
    [ "$(readlink "$work/root/usr/bin/$program")" = "/opt/transactflowos/$program" ] \
        || die "/usr/bin/$program is not a link to /opt/transactflowos/$program"
done
commit=$("$py" -c "from app.kernel.build_info import git_commit; from pathlib import Path; print(git_commit(Path('.')))")
grep -q "\"commit\": \"$commit\"" "$app/_internal/build-info.json" \
    || die "build-info.json does not name commit $commit"

step "3. bundled tfos demo-data and tfos wal verify (env -i, fresh HOME)"
mkdir "$work/home"
bare "$app/tfos" demo-data --groups 3 --members 20 --months 6 --seed 2026 >"$work/demo.txt"
tail -3 "$work/demo.txt"
data="$work/home/.local/share/TransactFlowOS"
[ -s "$data/wal/wal.log" ] || die "no WAL in the platform data folder $data"
bare "$app/tfos" wal verify >"$work/verify.json"
entries=$("$py" -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['ok'], r; print(r['entries'])" "$work/verify.json")
echo "WAL intact: $entries entries"

step "4. bundled desktop: every view, against the .venv's; the first start with the OS keyring"
if bare "$app/transactflowos" >"$work/nodisplay.txt" 2>&1; then die "started without a display"; fi
grep -q "^  - run the server alone:  tfos serve" "$work/nodisplay.txt" \
    || die "without a display it said: $(cat "$work/nodisplay.txt")"
"$py" packaging/smoke_desktop.py --bundle "$app/transactflowos" --home "$work/home" \
    --out "$work/shots" | tee "$work/desktop.json"
mkdir "$work/first"
dbus-run-session -- bash packaging/first_start.sh "$app/transactflowos" "$work/first"

step "5. bundled tfos serve"
"${office_env[@]}" "$app/tfos" serve --port 0 >"$work/serve.txt" 2>"$work/serve.err" &
server=$!
for _ in $(seq 100); do grep -q "serving on" "$work/serve.txt" && break; sleep 0.2; done
url=$(grep -o "http://[0-9.:]*" "$work/serve.txt") || die "tfos serve: $(cat "$work/serve.err")"
curl -fsS "$url/healthz" | tee "$work/healthz.json"; echo
"$py" -c "import json,sys; h=json.load(open(sys.argv[1])); assert h['status'] == 'ok' and h['wal']['entries'] >= int(sys.argv[2]), h" "$work/healthz.json" "$entries"
curl -fsS -o "$work/index.html" "$url/"
grep -q "/static/app.js" "$work/index.html" || die "the member page does not load /static/app.js"
curl -fsS -o /dev/null "$url/static/app.js"
curl -fsS -o /dev/null "$url/static/app.css"
kill -TERM "$server"
wait "$server"
server=""
echo "healthz, the member page and its static files answered"

step "6. dpkg -i, installed tfos --help, dpkg -r"
depends=$(dpkg-deb -f "$deb" Depends | sed 's/([^)]*)//g; s/,/ /g')
sh tests/apt-ensure.sh $depends
$SUDO dpkg -i "$deb"
for program in tfos transactflowos; do
    bare "$program" --help >"$work/help.txt"
    grep -q "^usage: $program" "$work/help.txt" || die "installed $program --help: $(cat "$work/help.txt")"
done
$SUDO dpkg -r transactflowos
[ ! -e /opt/transactflowos ] && [ ! -e /usr/bin/tfos ] || die "dpkg -r left files behind"
echo "installed, ran and removed"

total_s=$(since "$began")
"$py" - "$work/desktop.json" "$(stat -c %s "$deb")" "$(du -sb "$app" | cut -f1)" "$build_s" "$total_s" <<'EOF'
import json, sys

desktop = json.load(open(sys.argv[1]))
deb_mb, bundle_mb = (round(int(n) / 2**20, 1) for n in sys.argv[2:4])
build_s, total_s = map(float, sys.argv[4:])
print("\n== figures")
print(f".deb size                       {deb_mb:7.1f} MB   (goal <= 200 MB)")
print(f"bundle size                     {bundle_mb:7.1f} MB")
print(f"first window, bundle / .venv    {desktop['first_window_ratio']:7.3f}      (goal <= 1.2; "
      f"{desktop['first_window_bundle_s']:.2f} s / {desktop['first_window_venv_s']:.2f} s, best of "
      f"{len(desktop['runs']['bundle'])}; medians {desktop['first_window_median_ratio']:.3f})")
print(f"build time (make package)       {build_s:7.1f} s")
print(f"smoke time (all six steps)      {total_s:7.1f} s")
if deb_mb > 200:
    sys.exit(f"The .deb is {deb_mb} MB, over the 200 MB goal.")
print(json.dumps({
    "deb_mb": deb_mb,
    "bundle_mb": bundle_mb,
    "first_window_bundle_s": desktop["first_window_bundle_s"],
    "first_window_venv_s": desktop["first_window_venv_s"],
    "first_window_ratio": desktop["first_window_ratio"],
    "first_window_median_ratio": desktop["first_window_median_ratio"],
    "build_s": round(build_s, 1),
    "smoke_s": round(total_s, 1),
}))
EOF
