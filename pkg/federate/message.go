package federate

import (
	"fmt"
	"strings"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// maxNamedClusters is how many clusters a message names before it only counts the rest, so
// that a placement of hundreds of clusters still gives a short status and event.
const maxNamedClusters = 10

// reasonUnknownClusters is the reason of the event that names the clusters that the placement
// names and that are not registered.
const reasonUnknownClusters = "UnknownClusters"

// clusterNames names the clusters in the order given, the first maxNamedClusters of them, and
// counts the others: "a, b, c and 7 more".
func clusterNames(names []string) string {
	if len(names) <= maxNamedClusters {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxNamedClusters], ", "), len(names)-maxNamedClusters)
}

// unknownClustersMessage says which names of spec.placement.clusters, sorted, are not
// registered clusters.
func unknownClustersMessage(names []string) string {
	if len(names) == 1 {
		return "spec.placement.clusters names 1 cluster that is not registered; it is ignored: " + names[0]
	}
	return fmt.Sprintf("spec.placement.clusters names %d clusters that are not registered; they are ignored: %s", len(names), clusterNames(names))
}

// deletionMessage says what a federated object being deleted waits for: its copies in the
// clusters named, sorted, to be removed, or to lose the managed label when orphan is set.
// It is empty when it waits for none.
func deletionMessage(clusters []string, orphan bool) string {
	done := "be removed"
	if orphan {
		done = "lose the managed label"
	}
	switch len(clusters) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("Being deleted: waiting for its copy in cluster %s to %s", clusters[0], done)
	}
	return fmt.Sprintf("Being deleted: waiting for its copies in %d clusters to %s: %s", len(clusters), done, clusterNames(clusters))
}

// previousMessage is the Propagation condition's message as the object's status last gave it.
func (s *scope) previousMessage() string {
	for _, c := range s.status.Conditions {
		if c != nil && c.Type == typesv1beta1.PropagationConditionType {
			return c.Message
		}
	}
	return ""
}
