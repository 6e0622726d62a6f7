set -euo pipefail # OMIT
kubectl delete configmap ssa-demo --ignore-not-found --wait >/dev/null # OMIT
trap 'kubectl delete configmap ssa-demo --ignore-not-found >/dev/null' EXIT # OMIT
cm='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa-demo"}'
# alice applies two keys, then applies again without "b":
kubectl apply --server-side --field-manager=alice -f - <<<"$cm,\"data\":{\"a\":\"1\",\"b\":\"2\"}}"
kubectl apply --server-side --field-manager=alice -f - <<<"$cm,\"data\":{\"a\":\"1\"}}"
# "b" is gone: a field a manager stops sending is released, and removed
# when no other manager owns it.
kubectl get configmap ssa-demo -o jsonpath='{.data}{"\n"}'
