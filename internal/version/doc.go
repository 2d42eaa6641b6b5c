// Package version holds the version and commit that the build stamps into fed-controller and
// fedctl (go build -ldflags -X), and prints them.
package version
