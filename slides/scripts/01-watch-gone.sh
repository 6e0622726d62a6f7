set -euo pipefail # OMIT
# Resume a watch from a resourceVersion the server no longer keeps:
# the stream carries one ERROR event with 410 Gone, then ends.
kubectl get --raw '/api/v1/namespaces?watch=true&resourceVersion=1'
