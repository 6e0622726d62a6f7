// Package chromium drives a headless Chromium through the Chrome DevTools
// Protocol, for rendering the workshop's slide decks to PDF and screenshots.
//
// The browser is started with --remote-debugging-pipe, so the protocol runs
// over two pipes instead of a network port, and with a fresh user data
// directory that Close removes. Each Page records console errors, uncaught
// exceptions and failed loads, which tests use to fail on a broken deck, and
// can keep a page hermetic by answering requests to other origins (the
// present theme loads its fonts from the internet) with an empty response.
//
// Find locates the binary: $CHROMIUM when set, otherwise the first of
// chromium, chromium-browser, google-chrome-stable and google-chrome on PATH.
// It returns an error wrapping ErrNotFound when there is none, which callers
// use to skip browser work with a clear message.
package chromium
