set -euo pipefail # OMIT
# One Lease per node, renewed by whoever plays its kubelet.
kubectl get leases -n kube-node-lease
