#!/usr/bin/env bash
# CI step of the cluster layer (OnDemandExecution.Orleans): the 3-silo sample, then the package check.
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== cluster sample: dotnet run -c Release --project samples/Cluster"
timeout 5m dotnet run -c Release --project samples/Cluster

echo "== package OnDemandExecution.Orleans"
dotnet pack src/OnDemandExecution.Orleans -c Release -o artifacts/packages
pkg=$(ls artifacts/packages/OnDemandExecution.Orleans.*.nupkg | grep -v snupkg | head -n1)
listing=$(python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$pkg")
for f in README.md lib/net10.0/OnDemandExecution.Orleans.dll lib/net10.0/OnDemandExecution.Orleans.xml lib/net8.0/OnDemandExecution.Orleans.dll lib/net8.0/OnDemandExecution.Orleans.xml; do
  grep -qx "$f" <<<"$listing" || { echo "ci: $pkg lacks $f" >&2; exit 1; }
done
echo "ci: package $pkg has README and XML docs for net8.0 and net10.0"
