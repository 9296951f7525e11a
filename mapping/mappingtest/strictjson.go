package mappingtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// field is one known key of a JSON object: dst is a pointer to decode into,
// or a func(json.RawMessage) error that decodes the value itself.
type field struct {
	name string
	dst  any
}

// decodeObject decodes the JSON object data into fields, matching keys
// exactly (encoding/json alone would accept "TEAMSYNC" for "teamSync") and
// refusing unknown ones by name. A null value leaves its field unchanged.
// where names the object in errors, such as "snapshot"; empty when the
// caller's error already does.
func decodeObject(data []byte, where string, fields ...field) error {
	return decodeObjectAliases(data, where, nil, fields...)
}

// decodeObjectAliases is decodeObject where a key of aliases (another
// spelling) decodes into the field it names. Errors name a key as the
// input spells it; the list of known fields names only fields.
func decodeObjectAliases(data []byte, where string, aliases map[string]string, fields ...field) error {
	prefix := where + ": "
	if where == "" {
		prefix, where = "", "object"
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("%swant a JSON object, got %s", prefix, excerpt(t))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%s%w", prefix, err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := k
		if n, ok := aliases[k]; ok {
			name = n
		}
		i := slices.IndexFunc(fields, func(f field) bool { return f.name == name })
		if i < 0 {
			names := make([]string, len(fields))
			for j, f := range fields {
				names[j] = f.name
			}
			return fmt.Errorf("%sunknown field %q; the fields are %s (names are case-sensitive)", prefix, k, strings.Join(names, ", "))
		}
		var err error
		if dec, ok := fields[i].dst.(func(json.RawMessage) error); ok {
			err = dec(raw[k])
		} else {
			err = json.Unmarshal(raw[k], fields[i].dst)
		}
		if err != nil {
			return fmt.Errorf("%s%q: %w", prefix, k, err)
		}
	}
	return nil
}

// decodeArray decodes a JSON array (null: no elements), calling each for
// every element with its index.
func decodeArray(data []byte, each func(i int, elem json.RawMessage) error) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return err
	}
	for i, e := range elems {
		if err := each(i, e); err != nil {
			return err
		}
	}
	return nil
}

// decodeID reads an ID given as a JSON string or number; a number keeps its
// literal text, so 42 is the ID "42".
func decodeID(data []byte, dst *string) error {
	t := bytes.TrimSpace(data)
	if len(t) > 0 && t[0] == '"' {
		return json.Unmarshal(t, dst)
	}
	var n json.Number
	if err := json.Unmarshal(t, &n); err != nil || n == "" {
		return fmt.Errorf("an ID must be a string or a number, got %s", excerpt(t))
	}
	*dst = n.String()
	return nil
}

func excerpt(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
