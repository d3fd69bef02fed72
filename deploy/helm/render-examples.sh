#!/bin/sh
# Regenerates the rendered example manifests beside the chart (examples/rendered/*.yaml) from
# examples/values-*.yaml with `helm template`. The tests validate the rendered files as
# Kubernetes objects (server/src/system/deploy/helm.test.ts); run this after changing the chart.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
command -v helm >/dev/null 2>&1 || { echo "helm is not installed: https://helm.sh/docs/intro/install/" >&2; exit 1; }
helm lint "$here/earshot"
for values in "$here"/examples/values-*.yaml; do
  name=$(basename "$values" .yaml | sed 's/^values-//')
  helm template earshot "$here/earshot" -f "$values" > "$here/examples/rendered/$name.yaml"
  echo "rendered examples/rendered/$name.yaml"
done
