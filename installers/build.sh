#!/usr/bin/env bash
# Builds Tandem's packages into installers/out/:
#   desktop  the desktop app's .deb and .rpm with the Tauri bundler (npm @tauri-apps/cli)
#   server   .deb packages and tarballs with systemd units for tandem-relay and tandem-exec
#   all      both (default)
#
# Environment:
#   TANDEM_PROFILE=release|debug  Cargo profile of the binaries (default release: the servers
#                                 with `release`, the desktop app with the size-optimised
#                                 `desktop` profile). CI uses debug: an optimised build of the
#                                 Tauri app costs ~15 min on 2 cores.
#   CARGO_TARGET_DIR              the build cache (default target/).
# Container images are built from images/*.Containerfile (see docs/desktop.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
profile=${TANDEM_PROFILE:-release}
target=${CARGO_TARGET_DIR:-$root/target}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
mkdir -p "$out"

build_ui() {
  # TANDEM_UI_BUILT=1: ui/dist is fresh already (scripts/test.sh just built it).
  if [ "${TANDEM_UI_BUILT:-}" = 1 ] && [ -f "$root/ui/dist/index.html" ] && [ -x "$root/ui/node_modules/.bin/tauri" ]; then return; fi
  say "building the UI (ui/dist)"
  (cd "$root/ui" && { [ -x node_modules/.bin/tauri ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build >/dev/null)
}

desktop() {
  build_ui
  # Release bundles use the workspace's `desktop` profile (size-optimised, see Cargo.toml); the
  # CLI reads `--profile` after `--` and looks for the binary in target/desktop.
  local flag=() cargo=(-- --profile desktop) dir=desktop
  if [ "$profile" = debug ]; then flag=(--debug); cargo=(); dir=debug; fi
  say "bundling the desktop app ($profile): deb, rpm"
  # The CLI finds desktop/tauri.conf.json from the working directory.
  (cd "$root/desktop" && CI=true "$root/ui/node_modules/.bin/tauri" build "${flag[@]}" --bundles deb,rpm --ci "${cargo[@]}")
  cp -f "$target/$dir/bundle/deb/"*.deb "$target/$dir/bundle/rpm/"*.rpm "$out/"
}

# One Debian package from a staging tree: $1 name, $2 description, $3 depends.
pack_deb() {
  local name=$1 desc=$2 depends=$3 stage=$4
  mkdir -p "$stage/DEBIAN"
  cat >"$stage/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: Tandem developers <tandem@localhost>
Depends: $depends
Section: net
Priority: optional
Description: $desc
CONTROL
  cat >"$stage/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
POSTINST
  cat >"$stage/DEBIAN/prerm" <<PRERM
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl stop $name.service || true; fi
PRERM
  chmod 755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm"
  dpkg-deb --root-owner-group -Zgzip --build "$stage" "$out/${name}_${version}_${arch}.deb" >/dev/null
  tar -C "$stage" --exclude=DEBIAN -czf "$out/${name}_${version}_${arch}.tar.gz" .
  echo "  $out/${name}_${version}_${arch}.deb (+ .tar.gz)"
}

server() {
  local flag=() dir=debug
  if [ "$profile" = release ]; then flag=(--release); dir=release; fi
  say "building tandem-relay, tandem-exec, tandem-agent ($profile)"
  (cd "$root" && cargo build "${flag[@]}" --locked -p tandem-relay -p tandem-exec -p tandem-agent)
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  say "packaging tandem-relay"
  install -D -m755 "$target/$dir/tandem-relay" "$tmp/relay/usr/bin/tandem-relay"
  install -D -m644 "$here/systemd/tandem-relay.service" "$tmp/relay/lib/systemd/system/tandem-relay.service"
  install -D -m644 /dev/stdin "$tmp/relay/usr/share/doc/tandem-relay/README" <<'DOC'
tandem-relay: the self-hosted iroh relay Tandem peers fall back to. Configure it in
/etc/default/tandem-relay (TANDEM_RELAY_ARGS, TANDEM_RELAY_ACME_DOMAIN, TANDEM_RELAY_TOKEN, ...)
and start it with: systemctl enable --now tandem-relay
DOC
  pack_deb tandem-relay "Tandem relay: the self-hosted iroh relay for Tandem rooms" "libc6" "$tmp/relay"
  say "packaging tandem-exec"
  install -D -m755 "$target/$dir/tandem-exec" "$tmp/exec/usr/bin/tandem-exec"
  install -D -m755 "$target/$dir/tandem-agent" "$tmp/exec/usr/lib/tandem/tandem-agent"
  install -D -m644 "$here/systemd/tandem-exec.service" "$tmp/exec/lib/systemd/system/tandem-exec.service"
  install -D -m644 /dev/stdin "$tmp/exec/usr/share/doc/tandem-exec/README" <<'DOC'
tandem-exec: Tandem's execution node. It needs rootful Podman with its API socket
(systemctl enable --now podman.socket) and the runner image (scripts/build-runner-image.sh).
To run every sandbox in a user namespace of its own (sandbox_userns = "auto" and
require_user_namespace = true in its config; needs a Podman newer than 4.3), add
`containers:2147483647:2147483648` to /etc/subuid and /etc/subgid.
It listens on 127.0.0.1:2000; to listen elsewhere (TANDEM_EXEC_HTTP), list API keys in its
config first (tandem-exec key new --name NAME --scope run).
Start it with: systemctl enable --now tandem-exec
DOC
  pack_deb tandem-exec "Tandem execution node: runs interview code in Podman sandboxes" "libc6, podman" "$tmp/exec"
}

case "${1:-all}" in
  desktop) desktop ;;
  server) server ;;
  all) desktop; server ;;
  *) echo "usage: $0 [desktop|server|all]" >&2; exit 2 ;;
esac
ls -l "$out"
