set -uo pipefail # OMIT
# Any name but "singleton" is refused by a CEL rule on metadata.name.
kubectl apply --dry-run=server -f - <<'YAML'
apiVersion: workshop.example.com/v1alpha1
kind: OperatorConfig
metadata: {name: defaults}
spec: {maxReplicasPerPodSet: 10}
YAML
