// Command dynamic-objects reads and writes Kubernetes objects of any kind without Go
// types for them: `resources` lists what the server serves, `get` reads any resource by
// name, short name or kind, and `apply` server-side-applies multi-document manifests,
// CRDs and their instances included. See README.md; the logic lives in package dynobj.
package main

import (
	"github.com/kubeworkshop/kubeworkshop/demos/03-dynamic-objects/dynobj"
	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

func main() {
	cli.Main("dynamic-objects", dynobj.Run)
}
