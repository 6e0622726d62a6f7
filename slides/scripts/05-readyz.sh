set -euo pipefail # OMIT
# Is the API server ready? Each check it runs, then the verdict.
kubectl get --raw '/readyz?verbose'
