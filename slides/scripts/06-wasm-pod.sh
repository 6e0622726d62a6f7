set -euo pipefail # OMIT
kubectl delete pod hello-wasm --ignore-not-found --wait >/dev/null # OMIT
# A pod for the wasm node: select its arch, tolerate its taint.
kubectl run hello-wasm --image=hello --restart=Never --overrides='{"spec": {
  "nodeSelector": {"kubernetes.io/arch": "wasm"},
  "tolerations": [{"key": "kubernetes.io/arch", "value": "wasm", "effect": "NoSchedule"}]}}'
kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/hello-wasm --timeout=2m
kubectl get pod hello-wasm -o wide
kubectl logs hello-wasm
kubectl delete pod hello-wasm --wait=false >/dev/null # OMIT
