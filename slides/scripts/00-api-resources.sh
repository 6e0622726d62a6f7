set -euo pipefail # OMIT
# Which resources does the "apps" API group serve?
kubectl api-resources --api-group=apps
