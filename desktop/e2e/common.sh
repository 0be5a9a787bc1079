# Shared by the desktop e2e, package and benchmark scripts: Xvfb and tauri-driver lifecycles.
# Every process started here is stopped by its pid (never by name).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
export WEBKIT_DISABLE_COMPOSITING_MODE=1
started_pids=()
tmp_dirs=()
cleanup() {
  local pid
  for pid in "${started_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for d in "${tmp_dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

# A free X display number.
free_display() {
  local n=90
  while [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
  echo "$n"
}

start_xvfb() {
  local n
  n=$(free_display)
  Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  started_pids+=($!)
  export TANDEM_XVFB_PID=$!
  export DISPLAY=":$n"
  for _ in $(seq 1 50); do
    xdpyinfo >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "Xvfb did not start" >&2
  return 1
}

ensure_tauri_driver() {
  if ! command -v tauri-driver >/dev/null; then
    [ -x "$HOME/.cargo/bin/tauri-driver" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v tauri-driver >/dev/null; then
    echo "==> installing tauri-driver (cargo install --locked)"
    cargo install tauri-driver --locked
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
}

# tauri-driver on a free port; sets WEBDRIVER_URL.
start_tauri_driver() {
  local port=4444
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 2)); done
  tauri-driver --port "$port" --native-port $((port + 1)) >"${TANDEM_DRIVER_LOG:-/dev/null}" 2>&1 &
  started_pids+=($!)
  export WEBDRIVER_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -sf "$WEBDRIVER_URL/status" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "tauri-driver did not start" >&2
  return 1
}

# A throwaway app profile (key, rooms, settings) in $profile_dir, removed on exit. Not via
# $(...): a subshell could not register it for removal.
new_profile() {
  profile_dir=$(mktemp -d /tmp/tandem-desktop-e2e.XXXXXX)
  tmp_dirs+=("$profile_dir")
}
