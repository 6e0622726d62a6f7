package exposure_test

import (
	"net"
	"os"
	"testing"

	"github.com/kubeworkshop/kubeworkshop/harness/exposure"
)

func TestParseProcAddr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0100007F:1F90", "127.0.0.1:8080"},
		{"00000000:0CEA", "0.0.0.0:3306"},
		{"0200000A:0050", "10.0.0.2:80"},
		{"00000000000000000000000001000000:1F90", "[::1]:8080"},
		{"00000000000000000000000000000000:0016", "[::]:22"},
		{"0000000000000000FFFF00000100007F:0035", "[::ffff:127.0.0.1]:53"},
	} {
		got, err := exposure.ParseProcAddr(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseProcAddr(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0100007F", "XYZ:1F90", "0100007F:XYZ", "01007F:1F90"} {
		if _, err := exposure.ParseProcAddr(bad); err == nil {
			t.Errorf("ParseProcAddr(%q) accepted", bad)
		}
	}
}

func TestListenersFindsThisProcesssSockets(t *testing.T) {
	lo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lo.Close()
	all, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()

	ls, err := exposure.Listeners([]int{os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{lo.Addr().String(): true, all.Addr().String(): false}
	for _, l := range ls {
		if loopback, ok := want[l.Addr.String()]; ok {
			if l.Loopback() != loopback {
				t.Errorf("%s: Loopback() = %v", l, l.Loopback())
			}
			delete(want, l.Addr.String())
		}
	}
	if len(want) != 0 {
		t.Fatalf("listeners not found: %v (got %v)", want, ls)
	}
	exposed := exposure.Exposed(ls)
	if len(exposed) != 1 || exposed[0].Addr.String() != all.Addr().String() {
		t.Errorf("Exposed = %v, want only %s", exposed, all.Addr())
	}
}
