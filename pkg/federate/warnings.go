package federate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/fedplane/fedplane/pkg/render"
)

// warningsMessage tells the clusters' render warnings, for the Propagation condition's message:
// each warning once, with its reason and the clusters it concerns in order ("AnnotationsNotSupported
// in clusters cce, local: metadata.annotations is not propagated ..."), in the order of the
// reasons. It is empty when rendering dropped nothing.
func warningsMessage(results []clusterResult) string {
	clusters := map[render.Warning][]string{}
	for _, res := range results {
		for _, w := range res.warnings {
			clusters[w] = append(clusters[w], res.name)
		}
	}
	warnings := slices.SortedFunc(maps.Keys(clusters), func(a, b render.Warning) int {
		return cmp.Or(cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Message, b.Message))
	})
	parts := make([]string, 0, len(warnings))
	for _, w := range warnings {
		names := slices.Compact(slices.Sorted(slices.Values(clusters[w])))
		noun := "cluster"
		if len(names) > 1 {
			noun = "clusters"
		}
		parts = append(parts, fmt.Sprintf("%s in %s %s: %s", w.Reason, noun, clusterNames(names), w.Message))
	}
	return strings.Join(parts, "; ")
}

// renderFailuresMessage tells, for each cluster whose object could not be rendered, why, in
// the results' order.
func renderFailuresMessage(results []clusterResult) string {
	var parts []string
	for _, res := range results {
		if res.renderFailure != "" {
			parts = append(parts, fmt.Sprintf("%s in cluster %s: %s", res.status, res.name, res.renderFailure))
		}
	}
	return strings.Join(parts, "; ")
}

// joinMessages joins the parts of a message that are not empty.
func joinMessages(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "" }), "; ")
}
