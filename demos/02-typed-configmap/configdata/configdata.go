package configdata

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FieldError is a problem with one key of the data.
type FieldError struct {
	// Key is the data key, as spelled in the struct tag.
	Key string
	// Want describes the expected value, e.g. "an integer" or "a duration such as 30s".
	Want string
	// Value is the offending value; empty when the key is missing.
	Value string
	// Missing is true when a required key is absent.
	Missing bool
	// Err is the underlying parse error, if any.
	Err error
}

// Error implements error.
func (e *FieldError) Error() string {
	if e.Missing {
		return fmt.Sprintf("key %q is required but missing (want %s)", e.Key, e.Want)
	}
	return fmt.Sprintf("key %q: want %s, got %q", e.Key, e.Want, e.Value)
}

// Unwrap returns the underlying parse error.
func (e *FieldError) Unwrap() error { return e.Err }

// ValidationError collects every FieldError found in one decode.
type ValidationError struct {
	Fields []*FieldError
}

// Error implements error.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	return strings.Join(msgs, "; ")
}

// START unwrap OMIT
// Unwrap exposes the individual FieldErrors to errors.As and errors.Is.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Fields))
	for i, f := range e.Fields {
		errs[i] = f
	}
	return errs
}

// END unwrap OMIT

// Keys lists the problem keys, for callers that only need names.
func (e *ValidationError) Keys() []string {
	keys := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		keys[i] = f.Key
	}
	return keys
}

// Field describes one mapped struct field.
type Field struct {
	// Key is the data key.
	Key string
	// Want describes the accepted values, for messages and help text.
	Want string
	// Required is true unless the tag says omitempty.
	Required bool

	index []int
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	bytesType           = reflect.TypeFor[[]byte]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
)

// Fields returns the mapped fields of the struct type of v (a struct or a pointer to one),
// in declaration order. It fails for unsupported field types or duplicate keys, naming
// the field.
func Fields(v any) ([]Field, error) {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("configdata: want a struct or a pointer to one, got %T", v)
	}
	var fields []Field
	seen := map[string]string{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		key, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if key == "-" && opts == "" {
			continue
		}
		if key == "" {
			key = sf.Name
		}
		want, err := describe(sf.Type)
		if err != nil {
			return nil, fmt.Errorf("configdata: field %s.%s (key %q): %w", t.Name(), sf.Name, key, err)
		}
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("configdata: fields %s and %s of %s both map to key %q", prev, sf.Name, t.Name(), key)
		}
		seen[key] = sf.Name
		optional := false
		for o := range strings.SplitSeq(opts, ",") {
			optional = optional || o == "omitempty"
		}
		fields = append(fields, Field{Key: key, Want: want, Required: !optional, index: sf.Index})
	}
	return fields, nil
}

// describe says what a field of type t accepts, or why it cannot be mapped.
func describe(t reflect.Type) (string, error) {
	if t.Kind() == reflect.Pointer {
		return describe(t.Elem())
	}
	switch {
	case t == durationType:
		return "a duration such as 30s or 5m", nil
	case t == bytesType:
		return "bytes", nil
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		return "a valid " + t.String(), nil
	}
	switch t.Kind() {
	case reflect.String:
		return "a string", nil
	case reflect.Bool:
		return "a boolean (true or false)", nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer", nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer", nil
	case reflect.Float32, reflect.Float64:
		return "a number", nil
	default:
		return "", fmt.Errorf("unsupported type %s (ConfigMap values are flat strings)", t)
	}
}

// decode fills out (a pointer to a struct) from lookup and reports every bad key.
func decode(lookup func(key string) (string, bool), out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("configdata: want a non-nil pointer to a struct, got %T", out)
	}
	fields, err := Fields(out)
	if err != nil {
		return err
	}
	var bad []*FieldError
	for _, f := range fields {
		raw, ok := lookup(f.Key)
		if !ok {
			if f.Required {
				bad = append(bad, &FieldError{Key: f.Key, Want: f.Want, Missing: true})
			}
			continue
		}
		if err := setValue(rv.Elem().FieldByIndex(f.index), raw); err != nil {
			bad = append(bad, &FieldError{Key: f.Key, Want: f.Want, Value: raw, Err: err})
		}
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

// setValue parses raw into v according to v's type.
func setValue(v reflect.Value, raw string) error {
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		if err := setValue(p.Elem(), raw); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	if v.Type() == durationType {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	if v.Type() == bytesType {
		v.SetBytes([]byte(raw))
		return nil
	}
	if tu, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return tu.UnmarshalText([]byte(raw))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(raw), 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(strings.TrimSpace(raw), v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetFloat(n)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// formatValue renders v as a data value; ok is false for an unset pointer.
func formatValue(v reflect.Value) (s string, ok bool, err error) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", false, nil
		}
		return formatValue(v.Elem())
	}
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String(), true, nil
	case v.Type() == bytesType:
		return string(v.Bytes()), true, nil
	case v.Type().Implements(textMarshalerType):
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		return string(b), true, err
	case v.CanAddr() && v.Addr().Type().Implements(textMarshalerType):
		b, err := v.Addr().Interface().(encoding.TextMarshaler).MarshalText()
		return string(b), true, err
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), true, nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), true, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), true, nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits()), true, nil
	}
	return "", false, fmt.Errorf("unsupported type %s", v.Type())
}

// encode calls put for every key the struct v renders.
func encode(v any, put func(key, value string)) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return errors.New("configdata: cannot marshal a nil pointer")
		}
		rv = rv.Elem()
	}
	fields, err := Fields(v)
	if err != nil {
		return err
	}
	// Work on an addressable copy so pointer-receiver TextMarshalers are found.
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	for _, f := range fields {
		fv := cp.FieldByIndex(f.index)
		if !f.Required && fv.IsZero() {
			continue
		}
		s, ok, err := formatValue(fv)
		if err != nil {
			return fmt.Errorf("configdata: key %q: %w", f.Key, err)
		}
		if ok {
			put(f.Key, s)
		}
	}
	return nil
}

// Unmarshal fills the struct out points to from ConfigMap-style string data. Keys in
// data that no field maps are ignored. On a *ValidationError, fields whose keys were
// fine are still filled.
func Unmarshal(data map[string]string, out any) error {
	return decode(func(k string) (string, bool) { v, ok := data[k]; return v, ok }, out)
}

// UnmarshalBytes is Unmarshal for Secret-style byte data: []byte fields get the raw
// bytes, other fields parse them as text.
func UnmarshalBytes(data map[string][]byte, out any) error {
	return decode(func(k string) (string, bool) { v, ok := data[k]; return string(v), ok }, out)
}

// Marshal renders the struct v (or pointer to it) as ConfigMap-style string data.
func Marshal(v any) (map[string]string, error) {
	data := map[string]string{}
	if err := encode(v, func(k, s string) { data[k] = s }); err != nil {
		return nil, err
	}
	return data, nil
}

// MarshalBytes renders the struct v (or pointer to it) as Secret-style byte data.
func MarshalBytes(v any) (map[string][]byte, error) {
	data := map[string][]byte{}
	if err := encode(v, func(k, s string) { data[k] = []byte(s) }); err != nil {
		return nil, err
	}
	return data, nil
}

// Set parses one value into the field of *out mapped to key, as a command line
// `key=value` would. An unknown key is an error listing the known ones; a bad value is a
// *FieldError naming the key and the expected type.
func Set(out any, key, value string) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("configdata: want a non-nil pointer to a struct, got %T", out)
	}
	fields, err := Fields(out)
	if err != nil {
		return err
	}
	known := make([]string, 0, len(fields))
	for _, f := range fields {
		if f.Key == key {
			if err := setValue(rv.Elem().FieldByIndex(f.index), value); err != nil {
				return &FieldError{Key: key, Want: f.Want, Value: value, Err: err}
			}
			return nil
		}
		known = append(known, f.Key)
	}
	sort.Strings(known)
	return fmt.Errorf("unknown key %q (known keys: %s)", key, strings.Join(known, ", "))
}
