#!/usr/bin/env bash
# Builds the OnDemandExecution guest image for the KVM provider: a Debian cloud kernel (vmlinuz) and a gzipped
# initramfs (initrd.cpio.gz) holding busybox (static), the virtio modules, init (a busybox sh script) and the
# reference guest agent (tools/guest/odx-agent.c, compiled here with gcc -static).
#
#   tools/build-guest-image.sh [OUTPUT_DIR]      default OUTPUT_DIR: artifacts/guest (relative to the repo root)
#
# Idempotent: does nothing when OUTPUT_DIR already holds an image built from the same kernel package, busybox
# and agent sources (see OUTPUT_DIR/image.stamp). Installs what it needs with apt-get (--no-install-recommends)
# when it runs as root; otherwise it needs busybox-static, gcc, libc6-dev and the apt tools to be there already.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${1:-$repo/artifacts/guest}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
kernel_meta="${ODX_KERNEL_PACKAGE:-linux-image-cloud-amd64}"

need_pkgs=()
[ -x /bin/busybox ] && /bin/busybox --help 2>&1 | head -n1 | grep -q BusyBox && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' || need_pkgs+=(busybox-static)
command -v dpkg-deb >/dev/null || need_pkgs+=(dpkg)
command -v gzip >/dev/null || need_pkgs+=(gzip)
command -v gcc >/dev/null || need_pkgs+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need_pkgs+=(libc6-dev)
[ -f /usr/include/linux/vm_sockets.h ] || need_pkgs+=(linux-libc-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "build-guest-image: missing ${need_pkgs[*]}; install them (apt-get install --no-install-recommends)" >&2; exit 1; fi
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null; apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null; }
fi

# The versioned kernel package the meta package points at (apt-get update once when the lists are empty).
kernel_pkg="$(apt-cache depends "$kernel_meta" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')"
if [ -z "$kernel_pkg" ]; then
  apt-get update -qq >/dev/null
  kernel_pkg="$(apt-cache depends "$kernel_meta" | awk '/Depends: linux-image-/{print $2; exit}')"
fi
[ -n "$kernel_pkg" ] || { echo "build-guest-image: cannot resolve $kernel_meta to a kernel package" >&2; exit 1; }
kernel_ver="$(apt-cache policy "$kernel_pkg" | awk '/Candidate:/{print $2}')"

stamp="kernel=$kernel_pkg $kernel_ver
busybox=$(sha256sum /bin/busybox | cut -c1-16)
agent=$(cat "$here/guest/init" "$here/guest/odx-agent.c" | sha256sum | cut -c1-16) $(gcc -dumpfullversion)
builder=$(sha256sum "$0" | cut -c1-16)"
if [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.cpio.gz" ] && [ "$(cat "$out/image.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "build-guest-image: $out is up to date ($kernel_pkg $kernel_ver)"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "build-guest-image: downloading $kernel_pkg $kernel_ver"
(cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$kernel_pkg" >/dev/null)
dpkg-deb -x "$work"/"$kernel_pkg"_*.deb "$work/kernel"
kver="${kernel_pkg#linux-image-}"
moddir="$work/kernel/lib/modules/$kver/kernel"
[ -f "$work/kernel/boot/vmlinuz-$kver" ] || { echo "build-guest-image: no vmlinuz-$kver in $kernel_pkg" >&2; exit 1; }

root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,work,lib/modules}
cp /bin/busybox "$root/bin/busybox"
# applet links made here rather than by "busybox --install" at boot: hundreds of symlinks cost ~0.3 s under TCG
for applet in $(/bin/busybox --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$here/guest/init" "$root/init"
# the agent: one static binary, no fork per reply (docs/guest-agent-protocol.md)
gcc -static -Os -s -Wall -Wextra -Werror -o "$root/bin/odx-agent" "$here/guest/odx-agent.c"
chmod 0755 "$root/bin/odx-agent"
# The cloud kernel has these as modules; init insmods them in this order (no modules.dep in the image).
for m in virtio/virtio virtio/virtio_ring virtio/virtio_mmio char/virtio_console char/hw_random/virtio-rng; do
  src="$(ls "$moddir/drivers/$m".ko* 2>/dev/null | head -n1 || true)"
  if [ -z "$src" ]; then
    echo "build-guest-image: $m is not a module of $kernel_pkg; assuming it is built in"
    continue
  fi
  case "$src" in
    *.ko.xz) xz -dc "$src" > "$root/lib/modules/$(basename "$m" | tr - _).ko" ;;
    *.ko.zst) zstd -qdc "$src" > "$root/lib/modules/$(basename "$m" | tr - _).ko" ;;
    *.ko.gz) gzip -dc "$src" > "$root/lib/modules/$(basename "$m" | tr - _).ko" ;;
    *) cp "$src" "$root/lib/modules/$(basename "$m" | tr - _).ko" ;;
  esac
done
mknod -m 0600 "$root/dev/console" c 5 1 2>/dev/null || true

(cd "$root" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc 2>/dev/null) | gzip -9n > "$work/initrd.cpio.gz"
cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"
mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/initrd.cpio.gz" "$out/initrd.cpio.gz"
printf '%s\n' "$stamp" > "$out/image.stamp"
echo "build-guest-image: built $out/vmlinuz ($(du -h "$out/vmlinuz" | cut -f1)) and $out/initrd.cpio.gz ($(du -h "$out/initrd.cpio.gz" | cut -f1)) from $kernel_pkg $kernel_ver"
