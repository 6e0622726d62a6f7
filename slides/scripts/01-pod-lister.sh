set -euo pipefail # OMIT
# Every pod in every namespace, two per request: watch the pages go by.
go run ./demos/01-pod-lister -A -o name --page-size 2
