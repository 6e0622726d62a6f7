// Package configdata maps the string data of a ConfigMap (or the byte data of a Secret)
// to and from a Go struct through the struct's field tags, so code can read
// cm.Data["ca.crt"] as a typed field and get one clear error per bad key.
//
// It is the Go counterpart of deriving a typed resource that "inherits" ConfigMap in
// other client libraries: the object stays an ordinary ConfigMap on the server, and only
// the program's view of its data is typed.
//
// Rules:
//
//   - The key is the name in the field's `json` tag (`json:"ca.crt"`), or the field name
//     when there is no tag; `json:"-"` and unexported fields are skipped.
//   - A key is required unless the tag has `omitempty`; Marshal leaves out zero-valued
//     omitempty fields.
//   - Supported field types: string, []byte, bool, signed and unsigned integers, floats,
//     time.Duration, anything implementing encoding.TextUnmarshaler/TextMarshaler, and
//     pointers to these (a nil pointer is "not set").
//   - Every problem is reported, not only the first, each as a *FieldError naming its key.
package configdata
