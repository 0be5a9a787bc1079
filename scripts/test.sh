#!/usr/bin/env bash
# Sets everything up (like start.sh, without starting the product), then runs every test:
# formatting, unit tests, and the integration tests against real containers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
# A shared build cache between checkouts of this repo on this machine (never a substitute for
# the install steps above, which run every time).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/tandem/target}
export TANDEM_PROFILE=${TANDEM_PROFILE:-debug}
# No incremental compilation: a test run builds once, and incremental state only costs disk
# (gigabytes in a shared cache).
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
mkdir -p "$CARGO_TARGET_DIR"
"$here/setup.sh"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
counts=$(mktemp)
trap 'rm -f "$counts"' EXIT
# The UI first: the desktop app (desktop/) embeds ui/dist when it is compiled.
if [ -f ui/package.json ]; then
  echo "==> UI: npm ci, unit tests, typecheck and build"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npm test -- --reporter=default 2>&1 | tee -a "$counts" && test "${PIPESTATUS[0]}" = 0 && npm run build)
fi
echo "==> building every binary"
cargo build --locked --workspace --bins

# Sandboxes that exist before the tests (a node running beside them, a run killed earlier)
# are not the tests' doing; only new ones count as left behind.
list_sandboxes() { podman ps -a --filter label=io.tandem.exec.node --format '{{.ID}} {{.Names}}' | sort; }
before=$(list_sandboxes)
list_tmp() { ls -d /tmp/tandem-* 2>/dev/null | sort || true; }
before_tmp=$(list_tmp)
list_agents() { pgrep -x tandem-agent | sort || true; }
before_agents=$(list_agents)
echo "==> cargo test"
cargo test --locked --workspace -- --test-threads="${TANDEM_TEST_THREADS:-3}" 2>&1 | tee -a "$counts"
test "${PIPESTATUS[0]}" = 0

echo "==> web client end to end: real browsers (chromium) through the real relay and a headless peer"
(cd ui && TANDEM_BIN_DIR="$CARGO_TARGET_DIR/debug" node e2e/web.mjs 2>&1 | tee -a "$counts" && test "${PIPESTATUS[0]}" = 0)
echo "==> interview end to end: timer, chat, private notes, lock, problem, Submit verdicts, replay (real browsers, relay, peer, execution node)"
(cd ui && TANDEM_BIN_DIR="$CARGO_TARGET_DIR/debug" node e2e/interview.mjs 2>&1 | tee -a "$counts" && test "${PIPESTATUS[0]}" = 0)
echo "==> desktop: end-to-end smoke (Tauri window under Xvfb, tauri-driver, a real tandem-peer)"
TANDEM_BUILT=1 bash desktop/e2e/run.sh 2>&1 | tee -a "$counts"
test "${PIPESTATUS[0]}" = 0
# The package test builds the bundle from the debug profile: a release build of the Tauri app
# costs ~15 more minutes on CI's 2 cores, and packaging (not optimisation) is what is tested.
echo "==> desktop: .deb/.rpm bundle (debug profile), install, launch, uninstall"
TANDEM_PROFILE=debug TANDEM_UI_BUILT=1 bash installers/build.sh desktop
bash desktop/e2e/deb.sh 2>&1 | tee -a "$counts"
test "${PIPESTATUS[0]}" = 0

echo "==> checking that no sandbox or tandem container is left behind"
left=$(comm -13 <(echo "$before") <(list_sandboxes) | grep -v '^$' || true)
if [ -n "$left" ]; then
  echo "containers left behind: $left" >&2
  exit 1
fi
left_agents=$(comm -13 <(echo "$before_agents") <(list_agents) | grep -v '^$' || true)
if [ -n "$left_agents" ]; then
  echo "tandem-agent processes left behind: $left_agents" >&2
  exit 1
fi
left_tmp=$(comm -13 <(echo "$before_tmp") <(list_tmp) | grep -v '^$' || true)
if [ -n "$left_tmp" ]; then
  echo "temporary directories left behind: $left_tmp" >&2
  exit 1
fi
echo "no leftovers: no sandbox, no agent process, no temporary directory"

# One closing line for every runner together (cargo's per-binary lines and vitest's summary).
sed 's/\x1b\[[0-9;]*m//g' "$counts" | awk '
  /^test result:/ || /^ *Tests  / { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { printf "tests: %d passed, %d failed\n", p, f }'

