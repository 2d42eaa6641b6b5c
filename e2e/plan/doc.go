// Package plan tests `fedctl plan` against the controller end to end: fed-controller, built from
// this module, propagates the seed fixtures to the lab's members local and cce, and the tests
// check that fedctl plan, given the same manifests and the clusters as the host records them,
// prints exactly what the members received.
package plan
