set -euo pipefail # OMIT
# The nodes of the workshop cluster: simulated by kwok, real with kind.
kubectl get nodes
