// Package typedcm is demo 02 of the workshop: typed views over ConfigMaps.
//
// The `ca` command reads the kube-root-ca.crt ConfigMap of each namespace into a typed
// struct, parses the PEM bundle and reports each certificate's subject, issuer and
// expiry. The `settings` command keeps an application's settings (a string, an int, a
// bool and a duration) in a ConfigMap, validating values against the struct's field
// types before writing with server-side apply. The lesson is
// typedview.go: the views are plain structs with a decode function each, and their
// errors are values a caller inspects with errors.As.
package typedcm
