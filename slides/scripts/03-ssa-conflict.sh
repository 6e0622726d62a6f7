set -uo pipefail # OMIT
trap 'kubectl delete configmap ssa-demo --ignore-not-found >/dev/null' EXIT # OMIT
cm='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa-demo"}'
kubectl apply --server-side --field-manager=alice -f - <<<"$cm,\"data\":{\"a\":\"1\"}}" >/dev/null # OMIT
# bob applies the value alice set: no conflict, both now own "a".
kubectl apply --server-side --field-manager=bob -f - <<<"$cm,\"data\":{\"a\":\"1\"}}"
# bob applies a different value: a conflict, and nothing changes.
kubectl apply --server-side --field-manager=bob -f - <<<"$cm,\"data\":{\"a\":\"2\"}}"
