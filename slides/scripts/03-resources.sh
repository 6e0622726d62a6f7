set -euo pipefail # OMIT
# What does this server serve? Asked through discovery, like kubectl api-resources.
go run ./demos/03-dynamic-objects resources
