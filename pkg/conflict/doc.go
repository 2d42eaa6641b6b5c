// Package conflict tells the benign races of the control plane's writes to the host (a write
// from a read that another write made stale, most often the control plane's own write that its
// cache has not seen yet) from the failures that a reconcile reports: a race is logged at V(1)
// and tried again shortly, never reported as an error.
package conflict
