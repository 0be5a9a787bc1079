#!/usr/bin/env bash
# Desktop benchmark (docs/benchmarks.md, "Desktop"): cold start to an editable editor and memory
# of all the app's processes with a room open and idle, under Xvfb, each beside a baseline
# measured in the same run (the same binary as a bare Tauri window: --bench-baseline).
# TANDEM_PROFILE=desktop|release|debug (default desktop: the shipped build's profile, see the
# workspace Cargo.toml). TANDEM_BENCH_SMAPS=1 adds each process's PSS by mapping.
# Needs ui/dist (cd ui && npm ci && npm run build).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$root"
profile=${TANDEM_PROFILE:-desktop}
ensure_tauri_driver
flag=(--profile "$profile"); [ "$profile" = debug ] && flag=()
echo "==> building tandem-desktop ($profile)"
cargo build --locked "${flag[@]}" -p tandem-desktop --bin tandem-desktop
start_xvfb
new_profile
export TANDEM_DATA_DIR=$profile_dir
export TANDEM_DESKTOP_BIND=127.0.0.1:0
start_tauri_driver
echo "==> tandem-desktop ($profile), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
TANDEM_WEBDRIVER="$WEBDRIVER_URL" TANDEM_DESKTOP_BIN="$target/$profile/tandem-desktop" node desktop/e2e/bench.mjs
echo "==> load after: $(cut -d' ' -f1-3 /proc/loadavg)"
