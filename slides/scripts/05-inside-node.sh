set -euo pipefail # OMIT
# A kind node is a container named after the node. Inside it, containerd
# runs the pods' containers: ask it with crictl, as the kubelet would.
node=$(kubectl get nodes -l node-role.kubernetes.io/control-plane -o name | head -1)
docker exec "${node#node/}" crictl ps
