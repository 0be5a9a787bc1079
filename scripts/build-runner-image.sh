#!/usr/bin/env bash
# Builds the sandbox runner image `localhost/tandem-runner:1` from Debian packages, with no
# container registry: debootstrap a Debian 13 (trixie) rootfs with the five toolchains, warm
# what can be warmed (Go's standard-library build cache), and `podman import` it.
#
# Idempotent: the image carries a label with the hash of this recipe; a matching image is
# kept as it is. For deployments with a registry, images/runner.Containerfile builds the same.
set -euo pipefail

IMAGE=${TANDEM_RUNNER_IMAGE:-localhost/tandem-runner:1}
STATE=${TANDEM_STATE_DIR:-/var/lib/tandem}
MIRROR=${TANDEM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
PACKAGES=python3,nodejs,g++,golang-go,default-jdk-headless
here=$(cd "$(dirname "$0")" && pwd)
recipe=$(cat "$0" "$here/warm-go.go" "$here/node-snapshot-entry.js" | sha256sum | cut -c1-16)

have=$(podman image inspect --format '{{index .Labels "io.tandem.recipe"}}' "$IMAGE" 2>/dev/null || true)
if [ "$have" = "$recipe" ]; then
  echo "runner image $IMAGE is up to date ($recipe)"
  exit 0
fi

# The debootstrapped base depends only on the suite and the packages, so changing a warm-up
# step below does not download everything again.
base_key=$(echo "$SUITE $PACKAGES $MIRROR" | sha256sum | cut -c1-16)
rootfs="$STATE/rootfs-$SUITE-$base_key"
if [ ! -f "$rootfs/.tandem-base-complete" ]; then
  rm -rf "$rootfs.tmp"
  mkdir -p "$STATE"
  echo "debootstrapping $SUITE with $PACKAGES (about two minutes)…"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs.tmp" "$MIRROR" >"$STATE/debootstrap.log" 2>&1 \
    || { tail -20 "$STATE/debootstrap.log"; echo "debootstrap failed; full log: $STATE/debootstrap.log" >&2; exit 1; }
  # Nothing in the image needs these; smaller images import faster.
  rm -rf "$rootfs.tmp"/usr/share/{doc,man,info} "$rootfs.tmp"/var/cache/apt/archives/*.deb "$rootfs.tmp"/var/lib/apt/lists/*
  touch "$rootfs.tmp/.tandem-base-complete"
  mv "$rootfs.tmp" "$rootfs"
fi

in_root() {
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp "$@"
}
mount -t proc proc "$rootfs/proc"
trap 'umount "$rootfs/proc" 2>/dev/null || true' EXIT

# Warm Go's build cache for the packages interview programs import; sandboxes copy it in.
rm -rf "$rootfs/opt/tandem/go-build-cache" "$rootfs/tmp/warm"
mkdir -p "$rootfs/opt/tandem/go-build-cache" "$rootfs/tmp/warm"
cp "$here/warm-go.go" "$rootfs/tmp/warm/main.go"
in_root GOCACHE=/opt/tandem/go-build-cache GO111MODULE=off GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
  CGO_ENABLED=0 GOTELEMETRY=off sh -c 'cd /tmp/warm && go build -o /tmp/warm/warm main.go && /tmp/warm/warm'

# Precompile <bits/stdc++.h> with the flags of languages.toml: including it then costs
# ~0.3 s instead of ~3 s and far less memory.
gxx_bits=$(in_root sh -c 'dirname "$(echo "#include <bits/stdc++.h>" | g++ -std=gnu++20 -x c++ -E -H - 2>&1 >/dev/null | grep -m1 "bits/stdc++.h" | tr -d ". ")"')
in_root g++ -std=gnu++20 -O2 -x c++-header "$gxx_bits/stdc++.h" -o "$gxx_bits/stdc++.h.gch"

# A V8 startup snapshot for Node (see node-snapshot-entry.js).
mkdir -p "$rootfs/opt/tandem"
cp "$here/node-snapshot-entry.js" "$rootfs/opt/tandem/node-snapshot-entry.js"
in_root sh -c 'cd /opt/tandem && node --snapshot-blob /opt/tandem/node-snapshot.blob --build-snapshot /opt/tandem/node-snapshot-entry.js'

umount "$rootfs/proc"
trap - EXIT
rm -rf "$rootfs/tmp/"* "$rootfs/root/.cache"
chmod -R a+rX "$rootfs/opt/tandem"

old_id=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
echo "importing $rootfs as $IMAGE…"
tar -C "$rootfs" -c . | podman import \
  --change "LABEL io.tandem.recipe=$recipe" \
  --change "WORKDIR /work" \
  --change "USER 1000:1000" \
  - "$IMAGE" >/dev/null
echo "runner image $IMAGE built ($recipe)"
# The image this one replaces is untagged now; remove it unless a container still uses it.
if [ -n "$old_id" ]; then podman rmi "$old_id" >/dev/null 2>&1 || true; fi
# Older rootfs trees of previous recipes are not needed any more.
find "$STATE" -maxdepth 1 -name "rootfs-$SUITE-*" ! -name "rootfs-$SUITE-$base_key" -exec rm -rf {} + 2>/dev/null || true
