package main

import "testing"

func TestWithTrimpath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "-trimpath"},
		{"-mod=mod", "-trimpath -mod=mod"},
		{"-trimpath", "-trimpath"},
		{"-mod=mod --trimpath", "-mod=mod --trimpath"},
		{"-trimpath=true", "-trimpath=true"},
		// The user asked for no trimming: this run then compiles twice.
		{"-trimpath=false", "-trimpath -trimpath=false"},
	} {
		if got := withTrimpath(tc.in); got != tc.want {
			t.Errorf("withTrimpath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
