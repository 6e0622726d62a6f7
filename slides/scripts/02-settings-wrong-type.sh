set -uo pipefail # OMIT
# A value of the wrong type is refused before anything is sent.
go run ./demos/02-typed-configmap settings set -n default \
  --name workshop-settings replicas=three
