package main

import (
	"io"
	"testing"
	"time"
)

func TestTypeCacheSyncTimeoutFlag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    time.Duration
		wantErr bool
	}{
		{name: "the default is controller-runtime's", want: 2 * time.Minute},
		{name: "set", args: []string{"--type-cache-sync-timeout", "3s"}, want: 3 * time.Second},
		{name: "zero is refused", args: []string{"--type-cache-sync-timeout", "0"}, wantErr: true},
		{name: "negative is refused", args: []string{"--type-cache-sync-timeout", "-1s"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseFlags(%q) error = %v, want an error: %v", tc.args, err, tc.wantErr)
			}
			if err == nil && o.typeCacheSyncTimeout != tc.want {
				t.Errorf("typeCacheSyncTimeout = %s, want %s", o.typeCacheSyncTimeout, tc.want)
			}
		})
	}
}
