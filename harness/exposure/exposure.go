package exposure

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Listener is a listening TCP socket held by a process.
type Listener struct {
	PID     int
	Command string         // the process's name, from /proc/<pid>/comm
	Addr    netip.AddrPort // the local address it listens on
}

// Loopback reports whether only this machine can connect.
func (l Listener) Loopback() bool { return l.Addr.Addr().Unmap().IsLoopback() }

func (l Listener) String() string { return fmt.Sprintf("%s (pid %d) on %s", l.Command, l.PID, l.Addr) }

// Exposed keeps the listeners that are not on loopback.
func Exposed(ls []Listener) []Listener {
	var out []Listener
	for _, l := range ls {
		if !l.Loopback() {
			out = append(out, l)
		}
	}
	return out
}

// Listeners returns the listening TCP sockets held by the given processes,
// as seen from this process's network namespace. Processes that are gone
// or not readable are skipped.
func Listeners(pids []int) ([]Listener, error) {
	table := map[string]netip.AddrPort{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := readTable(f, table); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	var out []Listener
	for _, pid := range pids {
		fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		for _, fd := range fds {
			target, err := os.Readlink(fd)
			if err != nil {
				continue
			}
			inode, ok := strings.CutPrefix(target, "socket:[")
			if !ok {
				continue
			}
			if addr, ok := table[strings.TrimSuffix(inode, "]")]; ok {
				out = append(out, Listener{PID: pid, Command: strings.TrimSpace(string(comm)), Addr: addr})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PID != out[j].PID {
			return out[i].PID < out[j].PID
		}
		return out[i].Addr.String() < out[j].Addr.String()
	})
	return out, nil
}

// tcpListen is the state of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// readTable adds the listening sockets of one /proc/net/tcp* file to table,
// keyed by inode.
func readTable(path string, table map[string]netip.AddrPort) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != tcpListen {
			continue
		}
		addr, err := ParseProcAddr(fields[1])
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		table[fields[9]] = addr
	}
	return sc.Err()
}

// ParseProcAddr parses a local address as /proc/net/tcp and tcp6 print it:
// the IP in hex, as 32-bit words in host (little-endian) byte order, then
// ':' and the port in hex.
func ParseProcAddr(s string) (netip.AddrPort, error) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("address %q: no port", s)
	}
	raw, err := hex.DecodeString(ipHex)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("address %q: bad IP", s)
	}
	for i := 0; i < len(raw); i += 4 { // each word is little-endian
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: bad port", s)
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// ProcessesMentioning lists the processes whose command line contains s
// (for example a cluster's directory, which every one of its components is
// started with).
func ProcessesMentioning(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}
