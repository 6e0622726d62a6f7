set -euo pipefail # OMIT
# The same kind of request, but the API server runs it (and stores nothing):
# the Namespace comes back with a status no controller wrote.
kubectl create namespace team-a --dry-run=server -o yaml
