#!/usr/bin/env bash
# The desktop .deb installs with apt, the installed app opens its window under Xvfb, the
# tandem:// scheme is registered, and the package uninstalls cleanly. Run as root.
# Usage: desktop/e2e/deb.sh [path/to.deb]  (default: the newest installers/out/*.deb of the app)
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$root"
deb=${1:-$(ls -t installers/out/[Tt]andem_*.deb 2>/dev/null | head -1)}
[ -f "$deb" ] || { echo "no desktop .deb; run installers/build.sh desktop first" >&2; exit 1; }
pkg=$(dpkg-deb -f "$deb" Package)
passed=0 failed=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "test deb_$name ... ok"; else failed=$((failed + 1)); echo "test deb_$name ... FAILED"; fi
}
window_shown() {
  local wid
  for _ in $(seq 1 150); do
    wid=$(xdotool search --onlyvisible --name '^Tandem$' 2>/dev/null | head -1 || true)
    if [ -n "$wid" ] && xwininfo -id "$wid" | grep -q "Map State: IsViewable"; then
      xwininfo -id "$wid" | grep -E "Width|Height" | tr -s ' ' | tr '\n' ' '; echo
      return 0
    fi
    sleep 0.2
  done
  return 1
}
installed() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$deb" >/dev/null && [ -x /usr/bin/tandem-desktop ]; }
scheme_registered() { grep -q "x-scheme-handler/tandem" /usr/share/applications/*.desktop; }
removed() {
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -q "$pkg" >/dev/null &&
    [ ! -e /usr/bin/tandem-desktop ] && ! dpkg -s "$pkg" 2>/dev/null | grep -q "Status: install ok"
}

check install installed
check url_scheme scheme_registered
start_xvfb
new_profile
TANDEM_DATA_DIR=$profile_dir TANDEM_DESKTOP_BIND=127.0.0.1:0 /usr/bin/tandem-desktop >/dev/null 2>&1 &
app=$!
started_pids+=($app)
check window_shown window_shown
if [ -n "${TANDEM_DEB_SCREENSHOT:-}" ]; then sleep 2; import -window root "$TANDEM_DEB_SCREENSHOT" || true; fi
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
check uninstall removed
echo "test result: $([ $failed = 0 ] && echo ok || echo FAILED). $passed passed; $failed failed"
[ "$failed" = 0 ]
