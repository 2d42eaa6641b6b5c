#!/usr/bin/env bash
# Fails when generated code or manifests are stale, Go code is unformatted, go.mod is untidy, or
# go vet complains. Generation runs in a copy of the tree, so uncommitted work is never touched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fail=0

unformatted=$(gofmt -l $(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
  echo "verify: gofmt would change:"; echo "$unformatted" | sed 's/^/  /'; fail=1
fi

for mod in . hack/tools hack/kustomize-check; do
  if ! (cd "$mod" && go mod tidy -diff >/dev/null 2>&1); then
    echo "verify: go.mod of $mod is not tidy (run go mod tidy there)"; fail=1
  fi
done

go vet ./... || fail=1

# Regenerate in a copy and compare.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar --exclude=./.git --exclude=./.lab --exclude=./bin -cf - . | (cd "$tmp" && tar -xf -)
ln -s "$root/bin" "$tmp/bin"
make -C "$tmp" --no-print-directory generate manifests >"$tmp.log" 2>&1 || { cat "$tmp.log"; rm -f "$tmp.log"; exit 1; }
rm -f "$tmp.log"
stale=$(diff -rq "$root/api" "$tmp/api" 2>&1; diff -rq -x openapi "$root/config" "$tmp/config" 2>&1
  diff -rq "$root/charts" "$tmp/charts" 2>&1) || true
if [ -n "$stale" ]; then
  echo "verify: generated files are stale (run make generate manifests):"; echo "$stale" | sed 's/^/  /'; fail=1
fi

if [ "$fail" -ne 0 ]; then
  exit 1
fi
echo "verify: ok"
