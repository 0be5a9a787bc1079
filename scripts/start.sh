#!/usr/bin/env bash
# Sets everything up, then starts Tandem: the execution node on http://127.0.0.1:2000
# (Piston v2 API, streaming runs, /metrics) and the relay with the web client on
# http://127.0.0.1:3340 (rooms' relay, the UI, the y-websocket bridge into rooms).
# Ctrl-C stops both; the node cleans up its sandboxes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
"$here/setup.sh"
target=${CARGO_TARGET_DIR:-$root/target}
profile=${TANDEM_PROFILE:-release}
flag=(); [ "$profile" = release ] && flag=(--release)

# The relay and the web UI are built here rather than in setup.sh, so the tests' setup does not
# pay for a release build of the relay.
(cd "$root" && cargo build "${flag[@]}" --locked -p tandem-relay -p tandem-peer)
if [ -f "$root/ui/package.json" ]; then
  (cd "$root/ui" && npm ci --no-audit --no-fund --loglevel=error && npm run build >/dev/null)
fi

relay_http=${TANDEM_RELAY_HTTP:-127.0.0.1:3340}
mkdir -p /var/lib/tandem/relay-web
"$target/$profile/tandem-relay" --dev --http-addr "$relay_http" --admin-addr "${TANDEM_RELAY_ADMIN:-127.0.0.1:9340}" \
  --ui-dir "$root/ui/dist" --web-data /var/lib/tandem/relay-web >/dev/null &
relay_pid=$!
"$target/$profile/tandem-exec" serve --http "${TANDEM_EXEC_HTTP:-127.0.0.1:2000}" --data "${TANDEM_DATA:-/var/lib/tandem/exec}" &
exec_pid=$!
trap 'kill -INT $exec_pid 2>/dev/null; kill -TERM $relay_pid 2>/dev/null; wait' INT TERM
echo
echo "Tandem execution node: http://${TANDEM_EXEC_HTTP:-127.0.0.1:2000}  (try: curl -s localhost:2000/api/v2/runtimes)"
echo "Tandem relay + web client: http://$relay_http  (demo: http://$relay_http/?demo; a room:"
echo "  $target/$profile/tandem-peer --data /tmp/ana --relay http://$relay_http create, then"
echo "  {\"cmd\":\"invite\",\"role\":\"candidate\",\"ttl\":3600} prints a \"web\" link to open)"
wait $exec_pid
kill -TERM $relay_pid 2>/dev/null || true
wait $relay_pid 2>/dev/null || true
