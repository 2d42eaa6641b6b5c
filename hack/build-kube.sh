#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kube-scheduler from the Kubernetes module on
# the Go module proxy, at a pinned version, into a per-version cache directory shared by every
# clone on this machine. Prints the directory that holds the binaries.
#
# Usage: hack/build-kube.sh VERSION CACHE_DIR
set -euo pipefail

version=${1:?usage: build-kube.sh VERSION CACHE_DIR}
cache=${2:?usage: build-kube.sh VERSION CACHE_DIR}
out="$cache/kubernetes-$version"
bins=(kube-apiserver kube-controller-manager kube-scheduler)

have_all() {
  local b
  for b in "${bins[@]}"; do [ -x "$out/$b" ] || return 1; done
}

if have_all; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache"
# One build at a time per version, even when several clones build at once.
exec 9>"$cache/.kubernetes-$version.lock"
flock 9
if have_all; then
  echo "$out"
  exit 0
fi

src_dir=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src_dir" ] || { echo "build-kube: cannot download k8s.io/kubernetes@$version" >&2; exit 1; }

work=$(mktemp -d "$cache/.kubernetes-$version.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src_dir/." "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
rm -f go.work go.work.sum
# The module's staging replaces point at directories that the proxy's zip does not carry: drop them
# and require the published staging modules at the matching version.
staging_version="v0${version#v1}"
sed -i -e '/=> \.\/staging\//d' go.mod
sed -i -E "s#^(\s*k8s\.io/[a-z0-9-]+) v0\.0\.0\$#\1 $staging_version#" go.mod
sed -i -E "s#^(require )?(k8s\.io/[a-z0-9-]+) v0\.0\.0\$#\1\2 $staging_version#" go.mod

echo "build-kube: building ${bins[*]} $version (several minutes the first time)" >&2
mkdir -p "$work/out"
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w \
  -X k8s.io/component-base/version.gitVersion=$version \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2) \
  -X k8s.io/client-go/pkg/version.gitVersion=$version" \
  -o "$work/out/" $(printf './cmd/%s ' "${bins[@]}")

mkdir -p "$out"
for b in "${bins[@]}"; do mv "$work/out/$b" "$out/$b"; done
echo "$out"
