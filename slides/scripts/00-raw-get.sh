set -euo pipefail # OMIT
# The same API over plain HTTP: GET one object as JSON.
kubectl get --raw /api/v1/namespaces/default
