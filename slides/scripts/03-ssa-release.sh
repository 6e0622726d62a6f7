set -euo pipefail # OMIT
kubectl delete configmap ssa-demo --ignore-not-found --wait >/dev/null # OMIT
trap 'kubectl delete configmap ssa-demo --ignore-not-found >/dev/null' EXIT # OMIT
cm() { kubectl create configmap ssa-demo --dry-run=client -o yaml "$@"; }
# alice applies keys a and b, then applies again with a only:
cm --from-literal=a=1 --from-literal=b=2 | kubectl apply --server-side --field-manager=alice -f -
cm --from-literal=a=1 | kubectl apply --server-side --field-manager=alice -f -
# "b" is gone: a field a manager stops sending is released, and removed
# when no other manager owns it.
kubectl get configmap ssa-demo -o jsonpath='{.data}{"\n"}'
