// Package agent is a node agent, a kubelet of our own, that runs pods as
// WebAssembly (WASI) modules with wazero. Start reading at agent.go: it
// registers a Node, renews the node's Lease, watches the pods bound to the
// node and drives each container through the typed state machine of
// state.go; status.go turns states into pod status, server.go serves
// `kubectl logs`, wasm.go compiles and runs modules.
package agent
