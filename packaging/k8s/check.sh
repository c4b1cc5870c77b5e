#!/bin/sh
# packaging/k8s/check.sh — check the Kubernetes manifests, the Dockerfile and
# the role configurations (what exactly: packaging/k8s/check.py's header).
#   packaging/k8s/check.sh            BUILD=build (for rentezyd --check-config)
#   STRICT=1 packaging/k8s/check.sh   planned plugins not in plugins/ yet are errors
# Needs python3 and python3-yaml; uses kubectl (kustomize) and openssl when
# installed.
set -eu
exec python3 "$(dirname "$0")/check.py" "$@"
