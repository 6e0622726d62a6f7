// Package exposure finds what the workshop's processes listen on, so that
// tests and `go tool mage doctor` can prove nothing is reachable from the
// network: a TCP socket held by a process is matched to the kernel's table
// of listening sockets (/proc/net/tcp and tcp6) through its inode.
package exposure
