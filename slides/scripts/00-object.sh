set -euo pipefail # OMIT
# Ask kubectl to build a Deployment object, without sending it anywhere.
kubectl create deployment web --image=kubeworkshop.example/workload:1 --replicas=2 \
  --dry-run=client -o yaml
