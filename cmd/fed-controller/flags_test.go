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
		{name: "not given, the KubeFedConfig's applies", want: 0},
		{name: "given, it overrides the KubeFedConfig", args: []string{"--type-cache-sync-timeout", "3s"}, want: 3 * time.Second},
		{name: "given as the default, it still overrides", args: []string{"--type-cache-sync-timeout", "5m"}, want: 5 * time.Minute},
		{name: "zero is refused", args: []string{"--type-cache-sync-timeout", "0"}, wantErr: true},
		{name: "negative is refused", args: []string{"--type-cache-sync-timeout", "-1s"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseFlags(%q) error = %v, want an error: %v", tc.args, err, tc.wantErr)
			}
			if err == nil && o.typeSyncTimeout() != tc.want {
				t.Errorf("typeSyncTimeout() = %s, want %s", o.typeSyncTimeout(), tc.want)
			}
		})
	}
}
