package autofederate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/fedplane/fedplane/api/contract"
)

// EveryCluster is the placement of a generated federated object whose host object has no
// placement annotation: every cluster (a namespaced one is still limited to its namespace's
// FederatedNamespace).
func EveryCluster() map[string]any {
	return map[string]any{"clusterSelector": map[string]any{"matchLabels": map[string]any{}}}
}

// placementValue is what the placement annotation may hold.
type placementValue struct {
	Clusters        []clusterName         `json:"clusters"`
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector"`
}

// clusterName is a cluster of the annotation's list: a name, or {name: ...} as in a federated
// object's spec.placement.clusters.
type clusterName string

func (c *clusterName) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = clusterName(s)
		return nil
	}
	var ref struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ref); err != nil {
		return errors.New(`want a cluster name or {"name": ...}`)
	}
	*c = clusterName(ref.Name)
	return nil
}

// ParsePlacement reads the value of the placement annotation (JSON or YAML): exactly one of
// clusters, a list of cluster names, or clusterSelector, a label selector. It returns the
// federated object's spec.placement, or an error that names what is wrong.
func ParsePlacement(value string) (map[string]any, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("annotation %s: "+format, append([]any{contract.PlacementAnnotation}, args...)...)
	}
	if strings.TrimSpace(value) == "" {
		return nil, fail(`is empty: want {"clusters": [...]} or {"clusterSelector": {...}}`)
	}
	var p placementValue
	if err := yaml.UnmarshalStrict([]byte(value), &p); err != nil {
		return nil, fail(`%v: want {"clusters": [...]} or {"clusterSelector": {...}}`, err)
	}
	switch {
	case p.Clusters != nil && p.ClusterSelector != nil:
		return nil, fail("gives both clusters and clusterSelector: give one")
	case p.Clusters != nil:
		clusters := make([]any, 0, len(p.Clusters))
		seen := map[clusterName]bool{}
		for i, c := range p.Clusters {
			if errs := validation.IsDNS1123Subdomain(string(c)); len(errs) > 0 {
				return nil, fail("clusters[%d]: %q is not a cluster name: %s", i, c, strings.Join(errs, "; "))
			}
			if !seen[c] {
				seen[c] = true
				clusters = append(clusters, map[string]any{"name": string(c)})
			}
		}
		return map[string]any{"clusters": clusters}, nil
	case p.ClusterSelector != nil:
		if _, err := metav1.LabelSelectorAsSelector(p.ClusterSelector); err != nil {
			return nil, fail("clusterSelector: %v", err)
		}
		b, err := json.Marshal(p.ClusterSelector)
		if err != nil {
			return nil, fail("clusterSelector: %v", err)
		}
		var sel map[string]any
		if err := json.Unmarshal(b, &sel); err != nil {
			return nil, fail("clusterSelector: %v", err)
		}
		if len(sel) == 0 {
			sel = map[string]any{"matchLabels": map[string]any{}}
		}
		return map[string]any{"clusterSelector": sel}, nil
	default:
		return nil, fail(`names neither clusters nor clusterSelector: want {"clusters": [...]} or {"clusterSelector": {...}}`)
	}
}
