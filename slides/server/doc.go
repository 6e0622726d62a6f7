// Package server runs the present tool (golang.org/x/tools/cmd/present,
// pinned as a tool in the root go.mod) over the repository, so that decks
// are served at http://ADDR/slides/NN-name.slide and their relative links
// to demos/ resolve.
//
// Start builds or locates the tool with `go tool -n present`, runs it with
// speaker notes enabled and the playground disabled, and returns once the
// server is listening. Serve adds what the slides:serve mage target needs:
// it prints every deck's URL and stops the server when its context ends.
package server
