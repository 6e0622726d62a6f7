set -euo pipefail # OMIT
# What the generated RBAC lets the operator's ServiceAccount do.
sa=system:serviceaccount:podset-operator-system:podset-operator
kubectl auth can-i watch podsets.workshop.example.com -A --as="$sa"  # its cache
kubectl auth can-i delete pods -A --as="$sa"                          # scaling down
kubectl auth can-i create configmaps -n podset-operator-system --as="$sa" # its records
kubectl auth can-i create configmaps -n default --as="$sa" || true # nowhere else
kubectl auth can-i list secrets -A --as="$sa" || true
