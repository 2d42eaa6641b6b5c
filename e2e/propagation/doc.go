// Package propagation tests propagation end to end: fed-controller, built from this module,
// runs against the lab's host and members and is driven as a user drives it, by applying
// KubeFed manifests; the tests then read the members.
package propagation
