set -euo pipefail # OMIT
# A watch is a long GET that streams one JSON event per change.
# The server closes it after two seconds; cut shortens each event.
kubectl get --raw '/api/v1/namespaces?watch=true&timeoutSeconds=2' | cut -c1-100
