// Package modules fills the node agent's local module store: it compiles the
// example programs under programs/ with GOOS=wasip1 GOARCH=wasm into
// <name>.wasm files, and writes trap.wasm, a hand-assembled module whose
// only instruction is `unreachable`. A container's image names one of them.
package modules
