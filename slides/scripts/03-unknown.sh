set -uo pipefail # OMIT
# A typo: the program exits 1 and suggests what discovery does serve.
go run ./demos/03-dynamic-objects get pdos
