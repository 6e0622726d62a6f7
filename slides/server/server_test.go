package server

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fixtureDeck = `# Served deck

## Agenda

- first

: Notes.
`

// fixtureRoot returns a content root with one deck.
func fixtureRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "slides"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "slides", "01-served.slide"), []byte(fixtureDeck), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestStartServesDecksWithNotes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Root: fixtureRoot(t), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		url      string
		wantCode int
		want     []string
	}{
		{"deck with notes enabled", s.DeckURL("slides/01-served.slide"), 200, []string{"<title>Served deck</title>", "/static/notes.js", "Agenda"}},
		{"directory listing", s.URL() + "/slides/", 200, []string{"01-served.slide"}},
		{"missing deck", s.DeckURL("slides/99-missing.slide"), 500, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, tt.url)
			if code != tt.wantCode {
				t.Errorf("GET %s = %d, want %d", tt.url, code, tt.wantCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s does not contain %q", tt.url, w)
				}
			}
		})
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop() = %v, want nil", err)
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Error("server still answers after Stop")
	}
}

func TestServeStopsWhenContextEnds(t *testing.T) {
	t.Setenv(EnvAddr, "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	serveCtx, stop := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Serve(serveCtx, fixtureRoot(t), pw)
		pw.Close()
	}()

	sc := bufio.NewScanner(pr)
	var deckURL string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasSuffix(line, "/slides/01-served.slide") {
			deckURL = line
		}
		if line == "Press Ctrl-C to stop." {
			break
		}
	}
	if deckURL == "" {
		t.Fatal("Serve did not print the deck's URL")
	}
	if code, _ := get(t, deckURL); code != 200 {
		t.Errorf("GET %s = %d", deckURL, code)
	}
	stop()
	go io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Errorf("Serve() = %v after the context ended, want nil", err)
	}
}
