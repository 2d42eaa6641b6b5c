package federate

import (
	"bytes"
	"crypto/md5" //nolint:gosec // KubeFed's version hashes are MD5; they identify content, they protect nothing.
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// PropagatedVersionName is the name of the (Cluster)PropagatedVersion of a federated object:
// the target kind in lower case, a dash, and the object's name ("deployment-web").
func PropagatedVersionName(targetKind, name string) string {
	return strings.ToLower(targetKind) + "-" + name
}

// TemplateVersion is KubeFed's version of a federated object's spec.template: the hex MD5 of
// its JSON as an unstructured object encodes it (sorted keys, HTML characters escaped, and a
// final newline). It is empty when the object has no template.
func TemplateVersion(fed *unstructured.Unstructured) (string, error) {
	template, found, err := unstructured.NestedFieldNoCopy(fed.Object, "spec", "template")
	if err != nil || !found {
		return "", err
	}
	return hashJSON(template)
}

// OverridesVersion is KubeFed's version of a federated object's spec.overrides: the hex MD5 of
// {"overrides": [...]} encoded the same way ({"overrides":null} without overrides). It is empty
// when the object has no spec.
func OverridesVersion(fed *unstructured.Unstructured) (string, error) {
	spec, found, err := unstructured.NestedFieldNoCopy(fed.Object, "spec")
	if err != nil || !found {
		return "", err
	}
	m, _ := spec.(map[string]any)
	return hashJSON(map[string]any{"overrides": m["overrides"]})
}

// ClusterVersion is KubeFed's version of a member object: "gen:<generation>" for kinds that
// have a generation, else "rv:<resourceVersion>".
func ClusterVersion(obj *unstructured.Unstructured) string {
	if g := obj.GetGeneration(); g != 0 {
		return "gen:" + strconv.FormatInt(g, 10)
	}
	return "rv:" + obj.GetResourceVersion()
}

// hashJSON encodes v as the unstructured JSON encoder does and returns the hex MD5. Values are
// first normalised through JSON, so that typed values and maps in any key order give the same
// bytes.
func hashJSON(v any) (string, error) {
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
