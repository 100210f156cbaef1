package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// inputError is a problem with the request that the client can fix. Its
// message is sent as the plain-text body of a 400 response.
type inputError struct {
	msg string
}

func (e *inputError) Error() string { return e.msg }

func invalidInput(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// member is one key and its undecoded value in a JSON object.
type member struct {
	key   string
	value json.RawMessage
}

// decodeObject splits the JSON object in data into its members, in document
// order. A duplicate key, trailing data or anything but an object is an
// *inputError that names the object, so that no key can hide behind a
// second copy.
func decodeObject(data []byte, name string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, invalidInput("%s is not valid JSON", name)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, invalidInput("%s must be a JSON object", name)
	}

	var members []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidInput("%s is not valid JSON", name)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, invalidInput("%s is not valid JSON", name)
		}
		if seen[key] {
			return nil, invalidInput("%s contains the key %q twice", name, key)
		}
		seen[key] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, invalidInput("%s is not valid JSON", name)
		}
		members = append(members, member{key: key, value: value})
	}
	if _, err := dec.Token(); err != nil {
		return nil, invalidInput("%s is not valid JSON", name)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalidInput("%s has data after the JSON object", name)
	}
	return members, nil
}

// jsonType returns the JSON type of a value that encoding/json has already
// checked for syntax: "object", "array", "string", "number", "boolean" or
// "null".
func jsonType(v json.RawMessage) string {
	s := bytes.TrimLeft(v, " \t\r\n")
	if len(s) == 0 {
		return "null"
	}
	switch s[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

func isNull(v json.RawMessage) bool { return jsonType(v) == "null" }

// decodeString returns v as a string, or an *inputError naming field when v
// is any other JSON type.
func decodeString(v json.RawMessage, field string) (string, error) {
	if t := jsonType(v); t != "string" {
		return "", invalidInput("%s must be a string, not %s", field, article(t))
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", invalidInput("%s is not a valid JSON string", field)
	}
	return s, nil
}

// decodeBool returns v as a boolean. The Averos models type some flags as
// strings, so the strings "true" and "false" are accepted too.
func decodeBool(v json.RawMessage, field string) (bool, error) {
	switch jsonType(v) {
	case "boolean":
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return false, invalidInput("%s must be a boolean", field)
		}
		return b, nil
	case "string":
		s, err := decodeString(v, field)
		if err != nil {
			return false, err
		}
		return parseBoolText(s, field)
	default:
		return false, invalidInput("%s must be a boolean, not %s", field, article(jsonType(v)))
	}
}

func parseBoolText(s, field string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, invalidInput("%s must be true or false, not %q", field, s)
	}
}

// decodeArray splits the JSON array v into its elements, or returns an
// *inputError naming field when v is not an array.
func decodeArray(v json.RawMessage, field string) ([]json.RawMessage, error) {
	if !json.Valid(v) {
		return nil, invalidInput("%s is not valid JSON", field)
	}
	if t := jsonType(v); t != "array" {
		return nil, invalidInput("%s must be an array, not %s", field, article(t))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, invalidInput("%s is not a valid JSON array", field)
	}
	return items, nil
}

// decodeStringArray returns v as a list of strings; any element of another
// type is an *inputError naming its index.
func decodeStringArray(v json.RawMessage, field string) ([]string, error) {
	items, err := decodeArray(v, field)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		s, err := decodeString(item, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func article(jsonType string) string {
	if strings.IndexByte("aeiou", jsonType[0]) >= 0 {
		return "an " + jsonType
	}
	return "a " + jsonType
}
