package jsonhash

import (
	"bytes"
	"crypto/md5" //nolint:gosec // KubeFed's version hashes are MD5; they identify content, they protect nothing.
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// MD5 encodes v as the unstructured JSON encoder does (sorted keys, HTML characters escaped, a
// final newline) and returns the hex MD5 of the encoding. Values are first normalised through
// JSON, so that typed values and maps in any key order give the same bytes.
func MD5(v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("failed to encode for hashing: %w", err)
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return "", fmt.Errorf("failed to decode for hashing: %w", err)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(generic); err != nil {
		return "", fmt.Errorf("failed to encode for hashing: %w", err)
	}
	sum := md5.Sum(buf.Bytes()) //nolint:gosec // See the import.
	return hex.EncodeToString(sum[:]), nil
}
