set -euo pipefail # OMIT
# Every pod in every namespace, two per request; -v prints each continue token.
go run ./demos/01-pod-lister -A -o name --page-size 2 -v
