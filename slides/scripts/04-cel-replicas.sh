set -uo pipefail # OMIT
# Too many replicas: the API server's CEL rule refuses the PodSet.
# --dry-run=server runs every check but stores nothing.
kubectl apply --dry-run=server -f - <<'YAML'
apiVersion: workshop.example.com/v1alpha1
kind: PodSet
metadata: {name: too-big}
spec:
  replicas: 500
  selector: {matchLabels: {app: big}}
  template:
    metadata: {labels: {app: big}}
    spec: {containers: [{name: app, image: nginx:1.27}]}
YAML
