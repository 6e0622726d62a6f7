set -euo pipefail # OMIT
kubectl delete deployment web --ignore-not-found --wait >/dev/null # OMIT
kubectl delete replicasets -l app=web --ignore-not-found --wait >/dev/null # OMIT
kubectl create deployment web --image=kubeworkshop.example/workload:1 --replicas=2
kubectl wait --for=jsonpath='{.status.replicas}'=2 deployment/web
# Orphan: delete the owner, keep what it owns (its ownerReference is removed).
kubectl delete deployment web --cascade=orphan
kubectl get replicasets -l app=web \
  -o custom-columns=NAME:.metadata.name,OWNERS:.metadata.ownerReferences
kubectl delete replicasets -l app=web --wait >/dev/null # OMIT
