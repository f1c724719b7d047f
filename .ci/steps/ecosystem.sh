#!/usr/bin/env bash
# Ecosystem checks (issue 21), run by .ci/run after the packages are packed:
#  1. native AOT: publish tests/OnDemandExecution.AotConsumer (every library rooted whole) and fail on any IL2xxx/IL3xxx
#     warning that comes from our libraries; then run the binary.
#  2. packages: every artifacts/packages/*.nupkg has the LICENSE, a gallery README (no "not published" text), the MIT
#     expression, repository and project URLs; every snupkg's PDBs map their sources to that repository (Source Link).
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== ecosystem: native AOT consumer"
if ! command -v clang >/dev/null 2>&1 || ! [ -e /usr/include/zlib.h ]; then
  echo "== installing clang zlib1g-dev (native AOT linker)"
  apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null; }
fi
log=$(mktemp)
rm -rf artifacts/aot
dotnet publish tests/OnDemandExecution.AotConsumer -c Release -r linux-x64 -o artifacts/aot 2>&1 | tee "$log" >/dev/null \
  || { cat "$log"; echo "ci: the AOT consumer did not publish" >&2; exit 1; }
ours=$(grep -E 'warning IL[23][0-9]{3}' "$log" | grep 'OnDemandExecution' | sort -u || true)
others=$(grep -E 'warning IL[23][0-9]{3}' "$log" | grep -v 'OnDemandExecution' | sort -u || true)
if [ -n "$others" ]; then echo "ci: trim/AOT warnings from dependencies (not failing):"; echo "$others"; fi
if [ -n "$ours" ]; then echo "$ours"; echo "ci: the libraries cause trim/AOT warnings in a native AOT consumer" >&2; exit 1; fi
out=$(./artifacts/aot/OnDemandExecution.AotConsumer)
[ "$out" = "AOT toa" ] || { echo "ci: the AOT consumer printed '$out', expected 'AOT toa'" >&2; exit 1; }
echo "ci: AOT consumer published without trim/AOT warnings from the libraries and ran: $out"

echo "== ecosystem: package metadata and Source Link"
if ! ls artifacts/packages/*.nupkg >/dev/null 2>&1; then
  for p in src/*/; do
    [ -f "$p$(basename "$p").csproj" ] && dotnet pack "$p" -c Release -o artifacts/packages >/dev/null
  done
fi
python3 - artifacts/packages <<'PY'
import json, re, sys, zipfile, pathlib
folder = pathlib.Path(sys.argv[1])
errors = []
for nupkg in sorted(folder.glob("*.nupkg")):
    z = zipfile.ZipFile(nupkg)
    names = set(z.namelist())
    nuspec = z.read(next(n for n in names if n.endswith(".nuspec"))).decode()
    pid = re.search(r"<id>([^<]+)</id>", nuspec).group(1)
    version = re.search(r"<version>([^<]+)</version>", nuspec).group(1)
    def need(cond, what):
        if not cond:
            errors.append(f"{nupkg.name}: {what}")
    need("LICENSE" in names and "MIT License" in z.read("LICENSE").decode(), "no MIT LICENSE file")
    need(re.search(r'<license type="expression">MIT</license>', nuspec), "licence expression is not MIT")
    repo = re.search(r'<repository type="git" url="([^"]+)"', nuspec)
    need(repo, "no repository url")
    need(re.search(r"<projectUrl>https://[^<]+</projectUrl>", nuspec), "no project url")
    need(re.search(r"<tags>[^<]+</tags>", nuspec), "no tags")
    need(re.search(r"<description>[^<]{40,}</description>", nuspec), "no description")
    need("README.md" in names, "no README.md")
    if "README.md" in names:
        readme = z.read("README.md").decode()
        need("not published" not in readme.lower(), "README says 'not published'")
        for link in re.findall(r"\]\(([^)]+)\)", readme):
            need(re.match(r"https://", link), f"README link is not absolute: {link}")
    if pid == "OnDemandExecution.HyperV":
        need("-" in version, f"Hyper-V has never run on real Hyper-V: its version must be a prerelease (is {version})")
    snupkg = nupkg.with_suffix(".snupkg")
    need(snupkg.exists(), "no symbol package")
    if repo and snupkg.exists():
        m = re.match(r"https://github\.com/([^/]+/[^/.]+)", repo.group(1))
        raw = f"https://raw.githubusercontent.com/{m.group(1)}/" if m else None
        s = zipfile.ZipFile(snupkg)
        pdbs = [n for n in s.namelist() if n.endswith(".pdb")]
        need(pdbs, "symbol package holds no PDB")
        for pdb in pdbs:
            data = s.read(pdb)
            i = data.find(b'{"documents":')
            if i < 0:
                errors.append(f"{snupkg.name}: {pdb} has no Source Link"); continue
            depth, j = 0, i
            for j in range(i, len(data)):
                depth += {ord("{"): 1, ord("}"): -1}.get(data[j], 0)
                if depth == 0: break
            docs = json.loads(data[i:j + 1])["documents"]
            need(raw and docs and all(u.startswith(raw) for u in docs.values()), f"{pdb}: Source Link does not map to {raw}: {docs}")
    print(f"ci: {nupkg.name}: licence, repository, README, Source Link checked")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY
