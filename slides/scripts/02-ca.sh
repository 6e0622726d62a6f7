set -euo pipefail # OMIT
# Read kube-root-ca.crt through the typed view and check its certificate.
go run ./demos/02-typed-configmap ca -n default
