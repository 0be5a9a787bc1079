#!/usr/bin/env bash
# Installs and starts everything Tandem needs on a Debian 12+ machine, as root, idempotently:
# system packages, the container engine's Docker-API service (rootful Podman with runc), the
# Rust binaries, and the sandbox runner image. A second run takes seconds.
#
# Environment: TANDEM_PROFILE=release|debug (default release), CARGO_TARGET_DIR (optional cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "scripts/setup.sh installs system packages and starts the container engine: run it as root" >&2
  exit 1
fi

# 1. System packages.
# chromium: the browser end-to-end tests of the web client (playwright-core drives it).
APT_PACKAGES=(podman runc uidmap slirp4netns fuse-overlayfs catatonit debootstrap curl ca-certificates gcc pkg-config chromium)
# The desktop app (Tauri 2: WebKitGTK 4.1), its window tests (Xvfb, WebKitWebDriver for
# tauri-driver, xdotool/xwininfo, ImageMagick for screenshots) and its packages (dpkg-dev, rpm).
APT_PACKAGES+=(libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libssl-dev xvfb webkit2gtk-driver xdotool x11-utils
  imagemagick dpkg-dev rpm file)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. Rust toolchain (the machine's rustup toolchain if present).
if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null; then
  say "installing Rust with rustup"
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# 2b. Node.js for the UI (Vite 8 and Vitest 4 need 20.19 or newer).
if [ -f "$root/ui/package.json" ]; then
  if ! command -v node >/dev/null; then
    say "installing Node.js and npm"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
  fi
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' \
    || echo "warning: Node $(node --version) is older than 20.19; the UI's build and tests need 20.19+" >&2
fi

# 3. Podman: runc (crun fails on hybrid cgroup hosts), default ulimits below the host's hard
#    limits, and the Docker-compatible API on /run/podman/podman.sock.
conf=/etc/containers/containers.conf
if ! grep -q "managed by tandem" "$conf" 2>/dev/null; then
  if [ -s "$conf" ]; then cp "$conf" "$conf.before-tandem"; fi
  mkdir -p /etc/containers
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=1048576; [ "$nproc" = unlimited ] && nproc=65536
  [ "$nofile" -gt 1024 ] && nofile=1024
  [ "$nproc" -gt 8192 ] && nproc=8192
  cat >"$conf" <<CONF
# managed by tandem (scripts/setup.sh); the previous file, if any, is $conf.before-tandem
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
CONF
fi
# For nodes that run every sandbox in a user namespace of its own (`sandbox_userns = "auto"`,
# opt-in: Podman 4.3 deadlocks creating such sandboxes concurrently, see docs/exec-node.md):
# Podman takes the host uid ranges from the `containers` entries.
for f in /etc/subuid /etc/subgid; do
  grep -q '^containers:' "$f" 2>/dev/null || echo "containers:2147483647:2147483648" >>"$f"
done
sock=/run/podman/podman.sock
if ! curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
  say "starting the Podman API service on $sock"
  if [ -d /run/systemd/system ] && systemctl enable --now podman.socket >/dev/null 2>&1; then
    :
  else
    mkdir -p /run/podman /var/log/tandem
    # From /, not from this checkout: the service outlives the script, and a service whose
    # working directory was deleted cannot start containers ("write child: broken pipe").
    # Every descriptor redirected: nothing may hold the caller's output pipe open.
    (cd / && exec nohup podman system service --time=0 "unix://$sock" </dev/null >/var/log/tandem/podman-service.log 2>&1) &
  fi
  for _ in $(seq 1 50); do
    curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -sf --unix-socket "$sock" http://d/_ping >/dev/null || { echo "podman API did not come up; see /var/log/tandem/podman-service.log" >&2; exit 1; }
fi

# 4. Binaries.
profile=${TANDEM_PROFILE:-release}
say "building Tandem ($profile)"
flag=(); [ "$profile" = release ] && flag=(--release)
(cd "$root" && cargo build "${flag[@]}" --locked -p tandem-exec -p tandem-agent)

# 5. Runner image.
say "checking the sandbox runner image"
"$here/build-runner-image.sh"
