#!/usr/bin/env bash
# CI step of the OCI provider (OnDemandExecution.Oci), run before the tests: installs runc and busybox-static, builds
# the test bundle (busybox rootfs + the C agent; skipped when up to date), then checks the package.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v runc >/dev/null 2>&1 && [ ! -x /usr/sbin/runc ] || ! /bin/busybox --help 2>&1 | grep -q BusyBox || ! command -v gcc >/dev/null 2>&1; then
  echo "== installing runc busybox-static gcc libc6-dev"
  pkgs="runc busybox-static gcc libc6-dev linux-libc-dev"
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $pkgs >/dev/null; }
fi
echo "== OCI bundle ($(runc --version | head -n1))"
bash tools/build-oci-bundle.sh artifacts/oci-bundle

echo "== package OnDemandExecution.Oci"
dotnet pack src/OnDemandExecution.Oci -c Release -o artifacts/packages
pkg=$(ls artifacts/packages/OnDemandExecution.Oci.*.nupkg | grep -v snupkg | head -n1)
listing=$(python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$pkg")
for f in README.md lib/net10.0/OnDemandExecution.Oci.dll lib/net10.0/OnDemandExecution.Oci.xml lib/net8.0/OnDemandExecution.Oci.dll lib/net8.0/OnDemandExecution.Oci.xml; do
  grep -qx "$f" <<<"$listing" || { echo "ci: $pkg lacks $f" >&2; exit 1; }
done
echo "ci: package $pkg has README and XML docs for net8.0 and net10.0"
