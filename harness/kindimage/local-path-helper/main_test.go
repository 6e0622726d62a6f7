package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	base := t.TempDir()
	vol := filepath.Join(base, "pvc-1_ns_claim")
	tests := []struct {
		name, dir, action string
		wantErr           string
		wantExists        bool
	}{
		{name: "create", dir: vol, action: "create", wantExists: true},
		{name: "create again", dir: vol, action: "create", wantExists: true},
		{name: "delete", dir: vol, action: "delete", wantExists: false},
		{name: "delete again", dir: vol, action: "delete", wantExists: false},
		{name: "relative", dir: "pvc", action: "create", wantErr: "absolute"},
		{name: "root", dir: "/", action: "delete", wantErr: "below /"},
		{name: "unknown action", dir: vol, action: "resize", wantErr: "create or delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.dir, tt.action)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(tt.dir)
			if tt.wantExists != (err == nil) {
				t.Fatalf("exists = %v, want %v", err == nil, tt.wantExists)
			}
			if tt.wantExists && fi.Mode().Perm() != 0o777 {
				t.Errorf("mode %v, want 0777", fi.Mode().Perm())
			}
		})
	}
}
