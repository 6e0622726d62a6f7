// Package repo finds the root of the kubeworkshop repository, so that
// harness code run from any package directory (go test) or from the root
// (mage) locates tools/ and kwok/ the same way.
package repo
