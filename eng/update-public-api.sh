#!/usr/bin/env bash
# Brings every package's PublicAPI.Unshipped.txt up to date with its code: builds each packable project under src/,
# adds the symbols the build reports as undeclared (RS0016) and drops the ones it reports as gone (RS0017). Review the
# diff afterwards: it is the public surface that changed. (`dotnet format analyzers` does the same, but does not
# always apply the fix.)
set -euo pipefail
cd "$(dirname "$0")/.."
for file in src/*/PublicAPI.Unshipped.txt; do
  project=$(ls "$(dirname "$file")"/*.csproj)
  log=$(mktemp)
  # references first, then this project alone and from scratch (an up-to-date project reports nothing)
  dotnet build "$project" -c Release -p:TreatWarningsAsErrors=false >/dev/null 2>&1 || true
  dotnet build "$project" -c Release --no-dependencies --no-incremental -p:TreatWarningsAsErrors=false > "$log" 2>&1 || true
  python3 - "$file" "$log" "$(realpath "$project")" <<'PY'
import re, sys
path, project = sys.argv[1], sys.argv[3]
# only this project's lines: a build also reports the projects it references
log = "\n".join(l for l in open(sys.argv[2]) if "[" + project in l)
added = set(re.findall(r"RS0016: Symbol '(.+?)' is not part of the declared public API", log))
gone = set(re.findall(r"RS0017: Symbol '(.+?)' is part of the declared API, but", log))
lines = [l.rstrip("\n") for l in open(path) if l.strip()]
header = [l for l in lines if l.startswith("#")]
body = sorted((set(l for l in lines if not l.startswith("#")) | added) - gone, key=str.lower)
open(path, "w").write("\n".join(header + body) + "\n")
if added or gone:
    print(f"{path}: +{len(added)} -{len(gone)}")
PY
  rm -f "$log"
done
