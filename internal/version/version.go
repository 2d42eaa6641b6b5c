package version

import (
	"fmt"
	"io"
	"runtime"
)

// Version and Commit are set at link time by the Makefile's build target:
//
//	go build -ldflags "-X github.com/fedplane/fedplane/internal/version.Version=$(git describe --tags --always --dirty) \
//	    -X github.com/fedplane/fedplane/internal/version.Commit=$(git rev-parse HEAD)"
//
// A binary built without those flags says "dev" and "unknown".
var (
	// Version is the release, as git describe names it.
	Version = "dev"
	// Commit is the full hash of the commit the binary was built from.
	Commit = "unknown"
)

// Print writes program's stamped version and commit, and the Go release that built it, to w.
func Print(w io.Writer, program string) error {
	return Write(w, program, Version, Commit)
}

// Write writes one line that names program, its version and commit, and the Go release.
func Write(w io.Writer, program, version, commit string) error {
	_, err := fmt.Fprintf(w, "%s %s (commit %s, %s)\n", program, version, commit, runtime.Version())
	return err
}
