set -uo pipefail # OMIT
# The selector must match the template's labels: a rule across two fields,
# so a CEL rule. --dry-run=server runs every check but stores nothing.
kubectl apply --dry-run=server -f - <<'YAML'
apiVersion: workshop.example.com/v1alpha1
kind: PodSet
metadata: {name: lost}
spec:
  replicas: 1
  selector: {matchLabels: {app: lost}}
  template:
    metadata: {labels: {app: found}}
    spec: {containers: [{name: app, image: kubeworkshop.example/workload:1}]}
YAML
