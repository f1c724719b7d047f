#!/usr/bin/env bash
# Builds the OnDemandExecution OCI bundle for the OCI (runc) provider: OUTPUT_DIR/rootfs holding busybox (static),
# its applet links and the reference guest agent (tools/guest/odx-agent.c, compiled here with gcc -static) at
# /bin/odx-agent. The provider writes each container's config.json itself; this bundle has none.
#
#   tools/build-oci-bundle.sh [OUTPUT_DIR]      default OUTPUT_DIR: artifacts/oci-bundle (relative to the repo root)
#
# ODX_AGENT_SOURCE overrides the agent's C source. Idempotent: does nothing when OUTPUT_DIR already holds a bundle
# built from the same busybox, agent source, compiler and script (OUTPUT_DIR/bundle.stamp). Installs what it needs
# with apt-get (--no-install-recommends) when it runs as root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${1:-$repo/artifacts/oci-bundle}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
agent_src="${ODX_AGENT_SOURCE:-$here/guest/odx-agent.c}"
[ -f "$agent_src" ] || { echo "build-oci-bundle: no agent source at $agent_src (the C agent, tools/guest/odx-agent.c)" >&2; exit 1; }

need_pkgs=()
[ -x /bin/busybox ] && /bin/busybox --help 2>&1 | head -n1 | grep -q BusyBox && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' || need_pkgs+=(busybox-static)
command -v gcc >/dev/null || need_pkgs+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || need_pkgs+=(libc6-dev)
[ -f /usr/include/linux/vm_sockets.h ] || need_pkgs+=(linux-libc-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "build-oci-bundle: missing ${need_pkgs[*]}; install them (apt-get install --no-install-recommends)" >&2; exit 1; fi
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null; apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null; }
fi

stamp="busybox=$(sha256sum /bin/busybox | cut -c1-16)
agent=$(sha256sum "$agent_src" | cut -c1-16) $(gcc -dumpfullversion)
builder=$(sha256sum "$0" | cut -c1-16)"
if [ -x "$out/rootfs/bin/odx-agent" ] && [ "$(cat "$out/bundle.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "build-oci-bundle: $out is up to date"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
# mount points (the root file system is mounted read-only: /tmp, /run, /work, /odx and /dev are mounted over these)
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,work,odx,etc}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
gcc -static -Os -s -Wall -Wextra -Werror -o "$root/bin/odx-agent" "$agent_src"
chmod 0755 "$root/bin/odx-agent"
# names for the ids the provider uses (container uid 1000), so ls and id print names
printf 'root:x:0:0:root:/root:/bin/sh\nodx:x:1000:1000:odx function:/work:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nodx:x:1000:\nnogroup:x:65534:\n' > "$root/etc/group"
printf '127.0.0.1 localhost odx\n' > "$root/etc/hosts"

rm -rf "$out/rootfs"
mv "$root" "$out/rootfs"
printf '%s\n' "$stamp" > "$out/bundle.stamp"
echo "build-oci-bundle: built $out/rootfs ($(du -sh "$out/rootfs" | cut -f1); agent $(du -h "$out/rootfs/bin/odx-agent" | cut -f1))"
