set -euo pipefail # OMIT
kubectl patch configmap held --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true # OMIT
kubectl delete configmap held --ignore-not-found --wait >/dev/null # OMIT
kubectl create configmap held
kubectl patch configmap held --type=merge \
  -p '{"metadata":{"finalizers":["example.com/hold"]}}'
# Delete returns, but the object stays, Terminating, until its finalizer is gone.
kubectl delete configmap held --wait=false
kubectl get configmap held -o jsonpath='{.metadata.deletionTimestamp}{"\n"}'
# Whoever owns the finalizer does its cleanup, then removes it: now it goes.
kubectl patch configmap held --type=merge -p '{"metadata":{"finalizers":null}}'
kubectl get configmap held --ignore-not-found
