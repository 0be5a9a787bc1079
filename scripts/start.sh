#!/usr/bin/env bash
# Sets everything up, then starts Tandem on this machine:
# - the relay with the web client on http://127.0.0.1:3340 (rooms' relay, the UI, the
#   y-websocket bridge into rooms);
# - the execution node: Piston v2 API on http://127.0.0.1:2000, and rooms' runs over iroh;
# - a room host: a headless room peer (the first interviewer of one room kept in
#   /var/lib/tandem/host) that names the execution node for its room, so Run works at once;
# - then, with a display, the desktop app (when it is built: bash installers/build.sh desktop,
#   or TANDEM_DESKTOP=1 here); without one, it prints the web links to open.
# Ctrl-C stops everything; the node cleans up its sandboxes, the room stays for next time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
"$here/setup.sh"
target=${CARGO_TARGET_DIR:-$root/target}
profile=${TANDEM_PROFILE:-release}
flag=(); [ "$profile" = release ] && flag=(--release)

# The relay, the peer and the web UI are built here rather than in setup.sh, so the tests'
# setup does not pay for a release build of them.
(cd "$root" && cargo build "${flag[@]}" --locked -p tandem-relay -p tandem-peer -p tandem-exec -p tandem-agent)
if [ -f "$root/ui/package.json" ]; then
  (cd "$root/ui" && npm ci --no-audit --no-fund --loglevel=error && npm run build >/dev/null)
fi
bin=$target/$profile
state=${TANDEM_STATE:-/var/lib/tandem}
mkdir -p "$state/relay-web" "$state/host" "$state/exec"

pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

relay_http=${TANDEM_RELAY_HTTP:-127.0.0.1:3340}
relay_url=http://$relay_http
"$bin/tandem-relay" --dev --http-addr "$relay_http" --admin-addr "${TANDEM_RELAY_ADMIN:-127.0.0.1:9340}" \
  --ui-dir "$root/ui/dist" --web-data "$state/relay-web" >/dev/null &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "$relay_url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

# The room host: reopens its room, or creates one the first time.
room_file=$state/host/room-id
action=(create)
[ -s "$room_file" ] && action=(open "$(cat "$room_file")")
coproc HOST { exec "$bin/tandem-peer" --data "$state/host" --relay "$relay_url" --name "Room host" "${action[@]}" 2>/dev/null; }
pids+=($HOST_PID)
host_in=${HOST[1]}
host_out=${HOST[0]}
read -r -t 60 ready <&"$host_out" || { echo "the room host did not start" >&2; exit 1; }
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]);
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$1" "$2"; }
host_id=$(field "$ready" id)
room_id=$(field "$ready" room.id)
echo "$room_id" >"$room_file"
ask() { echo "$1" >&"$host_in"; local line; read -r -t 60 line <&"$host_out"; echo "$line"; }

# The execution node serves rooms whose interviewer is the host (add yours with
# --allow-interviewer or an organisation endorsement: docs/exec-node.md). A fixed iroh port keeps
# its ticket valid across restarts.
exec_log=$state/exec/node.log
"$bin/tandem-exec" serve --http "${TANDEM_EXEC_HTTP:-127.0.0.1:2000}" --data "$state/exec" \
  --iroh-bind "${TANDEM_EXEC_IROH:-127.0.0.1:2001}" --relay "$relay_url" --allow-interviewer "$host_id" >"$exec_log" &
pids+=($!)
ticket=
for _ in $(seq 1 600); do
  ticket=$(grep -m1 -o '"ticket":"[^"]*"' "$exec_log" 2>/dev/null | cut -d'"' -f4 || true)
  [ -n "$ticket" ] && break
  sleep 0.1
done
[ -n "$ticket" ] || { echo "the execution node did not start; see $exec_log" >&2; exit 1; }
ask "{\"cmd\":\"set_exec_node\",\"ticket\":\"$ticket\"}" >/dev/null
link() { field "$(ask "{\"cmd\":\"invite\",\"role\":\"$1\",\"can_edit\":true,\"ttl\":86400}")" "$2"; }

echo
echo "Tandem is running."
echo "  relay + web client:  $relay_url   (demo without a room: $relay_url/?demo)"
echo "  execution node:      http://${TANDEM_EXEC_HTTP:-127.0.0.1:2000}   (curl -s localhost:2000/api/v2/runtimes)"
echo "  room $room_id, hosted here; invites valid for 24 h:"
echo "    interviewer (web):  $(link interviewer web)"
echo "    candidate (web):    $(link candidate web)"
echo "    candidate (app):    $(link candidate invite)"
echo "  execution node ticket for the desktop app's settings: $ticket"

desktop=$bin/tandem-desktop
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  if [ ! -x "$desktop" ] && [ "${TANDEM_DESKTOP:-0}" = 1 ]; then
    (cd "$root" && cargo build "${flag[@]}" --locked -p tandem-desktop)
  fi
  if [ -x "$desktop" ]; then
    echo "  opening the desktop app; paste an invite above to join, or create a room"
    TANDEM_RELAY_URL=$relay_url TANDEM_EXEC_TICKET=$ticket "$desktop" >/dev/null 2>&1 &
    pids+=($!)
  else
    echo "  (the desktop app is not built: TANDEM_DESKTOP=1 bash scripts/start.sh builds and opens it)"
  fi
fi
echo "Ctrl-C stops Tandem."
wait "${pids[0]}"
