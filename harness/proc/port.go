package proc

import (
	"fmt"
	"net"
)

// FreePort asks the kernel for a TCP port on 127.0.0.1 that nothing listens
// on, for a child process to listen on. The port is released before
// FreePort returns, so another process may take it first; callers that
// start a server on it see that as the server's bind error.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
