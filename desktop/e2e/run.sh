#!/usr/bin/env bash
# Desktop end-to-end smoke: the real app window under Xvfb driven by tauri-driver +
# WebKitWebDriver, a real headless tandem-peer and a real execution node (tandem-exec with
# Podman sandboxes; needs the runner image and the Podman socket from scripts/setup.sh).
# Saves docs/screenshots/desktop-room.png.
# Prints `test result: ok. N passed; M failed` (scripts/test.sh sums it). Needs ui/dist built.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$root"
ensure_tauri_driver
# scripts/test.sh has just built every binary (TANDEM_BUILT=1); a `-p` build would unify features
# differently and recompile shared dependencies for nothing.
if [ "${TANDEM_BUILT:-}" != 1 ]; then
  echo "==> building tandem-desktop, tandem-peer, tandem-exec and tandem-agent (debug)"
  cargo build --locked -p tandem-desktop -p tandem-peer -p tandem-exec -p tandem-agent
fi
start_xvfb
new_profile
export TANDEM_DATA_DIR=$profile_dir
export TANDEM_DESKTOP_BIND=127.0.0.1:0
start_tauri_driver
mkdir -p docs/screenshots
TANDEM_WEBDRIVER="$WEBDRIVER_URL" TANDEM_DESKTOP_BIN="$target/debug/tandem-desktop" \
  TANDEM_PEER_BIN="$target/debug/tandem-peer" TANDEM_EXEC_BIN="$target/debug/tandem-exec" \
  TANDEM_SCREENSHOT="$root/docs/screenshots/desktop-room.png" \
  node desktop/e2e/smoke.mjs
