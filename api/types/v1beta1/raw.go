package v1beta1

import (
	"bytes"
	"encoding/json"
)

// Raw holds any JSON value (object, array, string, number, boolean) exactly as it was written.
// The zero value is JSON null.
type Raw struct {
	// JSON is the encoded value.
	JSON []byte `json:"-"`
}

// NewRaw encodes v as a Raw value.
func NewRaw(v any) (Raw, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Raw{}, err
	}
	return Raw{JSON: b}, nil
}

// MarshalJSON returns the stored value, or null when there is none.
func (r Raw) MarshalJSON() ([]byte, error) {
	if len(r.JSON) == 0 {
		return []byte("null"), nil
	}
	return r.JSON, nil
}

// UnmarshalJSON stores a copy of the value.
func (r *Raw) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		r.JSON = nil
		return nil
	}
	r.JSON = append(r.JSON[:0:0], b...)
	return nil
}

// IsZero reports whether no value is stored, so that omitempty/omitzero leave it out.
func (r Raw) IsZero() bool { return len(r.JSON) == 0 }

// Decode unmarshals the stored value into v.
func (r Raw) Decode(v any) error { return json.Unmarshal(r.JSON, v) }
