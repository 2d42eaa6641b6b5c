package main

import (
	"io"
	"maps"
	"slices"
	"strings"
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

func TestAutoFederateFlag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{name: "not given, nothing is federated automatically"},
		{name: "a list, spaces and empty entries ignored", args: []string{"--auto-federate", "configmaps, deployments.apps,,"}, want: []string{"configmaps", "deployments.apps"}},
		{name: "given twice, both lists count", args: []string{"--auto-federate=configmaps", "--auto-federate=namespaces"}, want: []string{"configmaps", "namespaces"}},
		{name: "a kind is not a type name", args: []string{"--auto-federate=ConfigMap"}, wantErr: `"ConfigMap" is not a FederatedTypeConfig name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseFlags(%q) error = %v, want one with %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(maps.Keys(o.autoFederate)); !slices.Equal(got, tc.want) {
				t.Errorf("auto-federated types = %q, want %q", got, tc.want)
			}
		})
	}
}
