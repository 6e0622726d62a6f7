package e2e

import (
	"strings"
	"testing"
)

func TestSpecSlug(t *testing.T) {
	for in, want := range map[string]string{
		"the shared cluster runs a Deployment of 3 replicas": "the-shared-cluster-runs-a-deployment-of-3-replicas",
		"  ¡Hola! / ünïcode  ":                               "hola-n-code",
		"":                                                   "spec",
		strings.Repeat("a", 100):                             strings.Repeat("a", 80),
	} {
		if got := specSlug(in); got != want {
			t.Errorf("specSlug(%q) = %q, want %q", in, got, want)
		}
	}
}
