set -euo pipefail # OMIT
# "Node" is a kind, not a resource name: the RESTMapper resolves it to "nodes".
go run ./demos/03-dynamic-objects get Node -o name
