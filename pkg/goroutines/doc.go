// Package goroutines keeps long-running goroutines by key: each has its own cancel, is
// replaced or stopped on its own, and is always waited for, so that nothing it does outlives
// its stop.
package goroutines
