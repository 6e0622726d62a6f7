// Package deck finds, parses and checks the workshop's slide decks.
//
// A deck is a file named NN-name.slide in the slides/ directory of the
// repository, written in the Markdown mode of the Go present format
// (golang.org/x/tools/present). Check parses every deck with the present
// package and adds the workshop's own rules on top of it:
//
//   - every file named by .code, .play, .image, .html or .background exists;
//   - code outside slides/ is shown only through a /START name OMIT/,/END name OMIT/
//     marker pair, each marker exists exactly once in the file, START comes
//     before END and the snippet is short enough to fit on a slide;
//   - every relative link (Markdown or .link) points at an existing file or
//     directory, so a deck never links to a demo that is not there;
//   - every `go tool mage ns:target` mentioned in a deck names a real target;
//   - no slide is empty, every slide has speaker notes, the first slide is
//     the agenda and the last slide links to a README and names a mage target;
//   - a slide showing scripts/NAME.sh also shows its recorded output,
//     scripts/out/NAME.txt, which exists and was recorded from the script
//     as it is now (scripts/out/SHA256SUMS, written by RecordOutput);
//   - every diagram source under slides/diagrams has an up-to-date SVG
//     render (see package diagram);
//   - no command or note directly follows a text line, and no fenced code
//     block holds a line starting with ".", "#" or ": ": present silently
//     drops or splits those, so the deck would not show what its source says.
//
// Problems carry the deck, the line and a message, so a broken marker is
// reported as, for example:
//
//	slides/01-clients.slide:42: marker "START list OMIT" not found in demos/01-pod-lister/list.go
package deck
