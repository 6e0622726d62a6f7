set -euo pipefail # OMIT
# The same listing through the client-go clientset, as a table, by label.
go run ./demos/01-pod-lister -A -l app=slides-demo --client clientgo
