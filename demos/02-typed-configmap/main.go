// Command typed-configmap reads and writes ConfigMaps through typed Go structs: it checks
// every namespace's root CA bundle (`ca`) and manages a typed application-settings
// ConfigMap (`settings get|set`). See README.md; the logic lives in package typedcm.
package main

import (
	"github.com/kubeworkshop/kubeworkshop/demos/02-typed-configmap/typedcm"
	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

func main() {
	cli.Main("typed-configmap", typedcm.Run)
}
