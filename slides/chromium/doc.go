// Package chromium drives a headless Chromium with chromedp, for rendering
// the workshop's slide decks to PDF and screenshots.
//
// chromedp starts the browser with --remote-debugging-pipe, so the DevTools
// protocol runs over two pipes instead of a network port, and with a fresh
// user data directory that Close removes. This package adds what the slide
// tests need on top: each Page records console errors, uncaught exceptions
// and failed loads, which tests use to fail on a broken deck, and can keep a
// page hermetic by answering requests to other origins (the present theme
// loads its fonts from the internet) with an empty response.
//
// Find locates the binary: $CHROMIUM when set, otherwise the first of
// chromium, chromium-browser, google-chrome-stable and google-chrome on PATH.
// It returns an error wrapping ErrNotFound when there is none, which callers
// use to skip browser work with a clear message.
package chromium
