#!/usr/bin/env bash
# Adds the public API that the PublicAPI.Unshipped.txt files do not list yet (RS0016) and drops what is gone (RS0017),
# for every packable project under src/. Review the diff afterwards: it is the public surface that changed.
set -euo pipefail
cd "$(dirname "$0")/.."
for file in src/*/PublicAPI.Unshipped.txt; do
  project=$(ls "$(dirname "$file")"/*.csproj)
  dotnet restore "$project" >/dev/null
  dotnet format analyzers "$project" --diagnostics RS0016 RS0017 --severity info
done
git diff --stat -- 'src/*/PublicAPI.*.txt'
