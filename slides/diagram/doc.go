// Package diagram renders the decks' diagrams from D2 text sources to SVG
// with the d2 Go library (oss.terrastruct.com/d2): no network, no external
// binary.
//
// A diagram is a file slides/diagrams/NAME.d2; its render, NAME.svg beside
// it, is checked in, so a presenter needs nothing but a browser. Check
// renders every source again and reports a render that is missing or no
// longer matches its source (slides:check fails on it); Generate rewrites
// them (`go tool mage slides:diagrams`). Rendering is deterministic: the
// same source always gives the same bytes.
package diagram
