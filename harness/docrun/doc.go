// Package docrun runs the shell blocks of a Markdown file top to bottom, as
// a learner types them, and checks that each does what the text says.
//
// A fenced block whose info string is sh, bash, shell or console is run
// command by command in bash, from the repository root (a line ending in a
// backslash, a pipe, && or || continues on the next, and a here-document
// belongs to the command that opens it); exported variables
// and the working directory carry over from one command to the next, as in
// a terminal. Each command must exit 0. Comment lines at the top of a block
// change that for the whole block:
//
//	# exit: 1           every command of the block must exit 1 instead
//	# background: 15    the block runs for at most 15 s and is then stopped
//	                    with Ctrl-C (a watch, a server); ending earlier with
//	                    a non-zero status fails
//	# skip: why         the block is not run; the reason is printed
//
// A ```text block right after a shell block is what that block prints: the
// real output must contain each of its lines, in order, with runs of white
// space counted as one (lines the README leaves out may come between).
// A failure names the file, the line and the command.
package docrun
