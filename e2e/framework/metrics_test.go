package framework

import "testing"

func TestWritesToSumsNonGETRequestsOfTheNamedClusters(t *testing.T) {
	body := `# HELP rest_client_requests_total x
rest_client_requests_total{code="201",host="127.0.0.1:1001",method="POST"} 3
rest_client_requests_total{code="200",host="127.0.0.1:1001",method="PATCH"} 2
rest_client_requests_total{code="200",host="127.0.0.1:1001",method="GET"} 50
rest_client_requests_total{code="200",host="127.0.0.1:1002",method="DELETE"} 4
rest_client_requests_total{code="200",host="127.0.0.1:1003",method="PUT"} 100
fedplane_member_writes_total{action="Create",cluster="a",result="success",type="configmaps"} 7
`
	a, b := &Cluster{Port: 1001}, &Cluster{Port: 1002}
	if got := writesTo(body, a, b); got != 9 {
		t.Errorf("writesTo(a, b) = %v, want 9 (3 POST + 2 PATCH + 4 DELETE; GETs and other hosts left out)", got)
	}
	if got := sumSamples(body, "fedplane_member_writes_total", map[string]string{"cluster": "a"}); got != 7 {
		t.Errorf("sumSamples = %v, want 7", got)
	}
	if got := sumSamples(body, "fedplane_member_writes_total", map[string]string{"cluster": "b"}); got != 0 {
		t.Errorf("sumSamples of another cluster = %v, want 0", got)
	}
}

func TestFlagValueReadsTheLastOccurrenceInEveryForm(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want      string
		wantFound bool
	}{
		{args: nil},
		{args: []string{"--member-timeout", "2s"}},
		{args: []string{"--metrics-secure"}, want: "true", wantFound: true},
		{args: []string{"-metrics-secure", "--leader-elect"}, want: "true", wantFound: true},
		{args: []string{"--metrics-secure=false"}, want: "false", wantFound: true},
		{args: []string{"--metrics-secure=false", "--metrics-secure=true"}, want: "true", wantFound: true},
		{args: []string{"--metrics-secure-x=false"}},
	} {
		got, found := flagValue(tc.args, "metrics-secure")
		if got != tc.want || found != tc.wantFound {
			t.Errorf("flagValue(%q) = %q, %v; want %q, %v", tc.args, got, found, tc.want, tc.wantFound)
		}
	}
	if got, _ := flagValue([]string{"--pprof-bind-address", "127.0.0.1:6060"}, "pprof-bind-address"); got != "127.0.0.1:6060" {
		t.Errorf("flagValue(--pprof-bind-address 127.0.0.1:6060) = %q", got)
	}
}
