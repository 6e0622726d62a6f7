set -euo pipefail # OMIT
# A kind node is a container named after the node; crictl asks its containerd.
node=$(kubectl get nodes -l node-role.kubernetes.io/control-plane -o name | head -1)
docker exec "${node#node/}" crictl ps --name 'kube-apiserver|etcd'
