package deck

import (
	"testing"

	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// TestRepositoryDecks runs the same check as `go tool mage slides:check`
// on the real decks, so `go test ./...` fails when a deck drifts from the
// demos it shows.
func TestRepositoryDecks(t *testing.T) {
	root, err := repo.Root("")
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
