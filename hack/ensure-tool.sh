#!/usr/bin/env bash
# Makes one pinned tool available as bin/NAME, building it into a per-version cache directory
# outside the clone the first time, so that every clone on this machine reuses it.
#
# Usage: hack/ensure-tool.sh NAME
#   NAME: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, kwok-stages,
#         controller-gen, golangci-lint, helm
#
# Environment: TOOLS_CACHE (default: $XDG_CACHE_HOME/fedplane/tools or ~/.cache/fedplane/tools),
# KUBEBUILDER_ASSETS (a directory with etcd and kube-apiserver to use instead of building them),
# and the *_VERSION variables that the Makefile passes.
set -euo pipefail

name=${1:?usage: ensure-tool.sh NAME}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fedplane/tools}
bin="$root/bin"
mkdir -p "$bin" "$cache"

: "${KUBE_VERSION:?}" "${KWOK_VERSION:?}" "${CONTROLLER_TOOLS_VERSION:?}" "${GOLANGCI_LINT_VERSION:?}" "${HELM_VERSION:?}"
etcd_version=$(awk '{ if ($1 == "require") $1 = ""; $0 = $0 } $1 == "go.etcd.io/etcd/server/v3" { print $2 }' "$root/hack/tools/go.mod")

link() { # link SOURCE: point bin/NAME at SOURCE unless it already does.
  if [ "$(readlink "$bin/$name" 2>/dev/null)" != "$1" ]; then
    ln -sfn "$1" "$bin/$name"
  fi
}

# go_install DIR PKG@VERSION: install a Go command into DIR, one build at a time.
go_install() {
  local dir=$1 pkg=$2
  mkdir -p "$dir"
  (
    flock 9
    if [ ! -x "$dir/$(basename "${pkg%@*}")" ]; then
      echo "ensure-tool: building $pkg" >&2
      GOBIN="$dir" GOFLAGS= go install "$pkg"
    fi
  ) 9>"$dir.lock"
}

case "$name" in
  etcd)
    if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ]; then
      link "$KUBEBUILDER_ASSETS/etcd"; exit 0
    fi
    dir="$cache/etcd-$etcd_version"
    if [ ! -x "$dir/etcd" ]; then
      mkdir -p "$dir"
      (
        flock 9
        if [ ! -x "$dir/etcd" ]; then
          echo "ensure-tool: building etcd $etcd_version" >&2
          (cd "$root/hack/tools" && CGO_ENABLED=0 GOFLAGS= go build -trimpath -o "$dir/etcd" ./etcd)
        fi
      ) 9>"$dir.lock"
    fi
    link "$dir/etcd"
    ;;
  kube-apiserver|kube-controller-manager|kube-scheduler)
    if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$name" ]; then
      link "$KUBEBUILDER_ASSETS/$name"; exit 0
    fi
    dir=$("$root/hack/build-kube.sh" "$KUBE_VERSION" "$cache")
    link "$dir/$name"
    ;;
  kwok)
    dir="$cache/kwok-$KWOK_VERSION"
    go_install "$dir" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    link "$dir/kwok"
    ;;
  kwok-stages)
    # kwok needs stage definitions to move fake nodes and pods through their lifecycle; the
    # module ships them. Concatenate the ones the lab uses into one config file.
    dir="$cache/kwok-$KWOK_VERSION"
    out="$dir/stages.yaml"
    if [ ! -s "$out" ]; then
      mkdir -p "$dir"
      src=$(GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      tmp=$(mktemp "$out.XXXXXX")
      for f in "$src"/kustomize/stage/node/fast/node-initialize.yaml \
               "$src"/kustomize/stage/node/heartbeat-with-lease/*.yaml \
               "$src"/kustomize/stage/pod/fast/*.yaml; do
        [ "$(basename "$f")" = kustomization.yaml ] && continue
        echo "---" >>"$tmp"
        cat "$f" >>"$tmp"
      done
      mv "$tmp" "$out"
    fi
    link "$out"
    ;;
  controller-gen)
    dir="$cache/controller-gen-$CONTROLLER_TOOLS_VERSION"
    go_install "$dir" "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION"
    link "$dir/controller-gen"
    ;;
  golangci-lint)
    dir="$cache/golangci-lint-$GOLANGCI_LINT_VERSION"
    go_install "$dir" "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
    link "$dir/golangci-lint"
    ;;
  helm)
    dir="$cache/helm-$HELM_VERSION"
    go_install "$dir" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    link "$dir/helm"
    ;;
  *)
    echo "ensure-tool: unknown tool $name" >&2
    exit 2
    ;;
esac
