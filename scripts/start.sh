#!/usr/bin/env bash
# Sets everything up, then starts Tandem: the execution node on http://127.0.0.1:2000
# (Piston v2 API, streaming runs, /metrics). Ctrl-C stops it and cleans up its sandboxes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
"$here/setup.sh"
target=${CARGO_TARGET_DIR:-$root/target}
echo
echo "Tandem execution node: http://${TANDEM_EXEC_HTTP:-127.0.0.1:2000}  (try: curl -s localhost:2000/api/v2/runtimes)"
exec "$target/release/tandem-exec" serve --http "${TANDEM_EXEC_HTTP:-127.0.0.1:2000}" --data "${TANDEM_DATA:-/var/lib/tandem/exec}"
