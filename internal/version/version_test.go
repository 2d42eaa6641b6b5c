package version

import (
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name            string
		version, commit string
		want            string
	}{
		{
			name:    "not stamped",
			version: "dev", commit: "unknown",
			want: "fedctl dev (commit unknown, " + runtime.Version() + ")\n",
		},
		{
			name:    "stamped by make build",
			version: "v0.3.0-2-g1a2b3c4-dirty", commit: "1a2b3c4d5e6f",
			want: "fedctl v0.3.0-2-g1a2b3c4-dirty (commit 1a2b3c4d5e6f, " + runtime.Version() + ")\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := Write(&b, "fedctl", tc.version, tc.commit); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("Write() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultsWhenNotStamped(t *testing.T) {
	// The test binary is built without -ldflags -X.
	if Version != "dev" || Commit != "unknown" {
		t.Errorf("Version, Commit = %q, %q, want \"dev\", \"unknown\"", Version, Commit)
	}
}
