set -euo pipefail # OMIT
# The same listing through the client-go clientset, as a table.
go run ./demos/01-pod-lister -A --client clientgo
