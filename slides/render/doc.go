// Package render opens the workshop's decks in headless Chromium, served by
// the present tool, to export them as PDFs (one page per slide) and to take
// screenshots for the browser test.
//
// Pages are kept hermetic: requests leaving the local present server (the
// present theme asks Google Fonts for its typefaces) are answered with an
// empty response, so rendering works offline and looks the same everywhere.
package render
