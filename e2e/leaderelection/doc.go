// Package leaderelection tests how fed-controller's replicas hand over leadership: two
// fed-controllers, built from this module, run with --leader-elect against a lab host, and the
// tests stop the leader as a kubelet does and time the standby's takeover.
package leaderelection
