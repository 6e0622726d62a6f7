set -uo pipefail # OMIT
trap 'kubectl delete configmap ssa-demo --ignore-not-found >/dev/null' EXIT # OMIT
cm() { kubectl create configmap ssa-demo --dry-run=client -o yaml "$@"; }
cm --from-literal=a=1 | kubectl apply --server-side --field-manager=alice -f - >/dev/null # OMIT
# bob applies the value alice set: no conflict, both now own "a".
cm --from-literal=a=1 | kubectl apply --server-side --field-manager=bob -f -
# bob applies a different value: a conflict, and nothing changes.
cm --from-literal=a=2 | kubectl apply --server-side --field-manager=bob -f -
