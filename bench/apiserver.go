package main

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// requestCounts reads an API server's count of requests other than watches
// (apiserver_request_total),
// by resource and verb, such as "federatedconfigmaps PATCH status".
func requestCounts(ctx context.Context, cfg *rest.Config) (map[string]float64, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to read the API server's metrics: %w", err)
	}
	return parseRequestCounts(string(body)), nil
}

// parseRequestCounts sums apiserver_request_total's samples, watches left out, by resource,
// verb and subresource.
func parseRequestCounts(metrics string) map[string]float64 {
	counts := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(metrics))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(line[len("apiserver_request_total{"):end], ",") {
			k, v, ok := strings.Cut(kv, "=")
			if ok {
				labels[k] = strings.Trim(v, `"`)
			}
		}
		if labels["verb"] == "WATCH" {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		key := labels["resource"] + " " + labels["verb"]
		if labels["subresource"] != "" {
			key += " " + labels["subresource"]
		}
		counts[key] += v
	}
	return counts
}

// diffCounts returns after minus before, without zeros, as sorted "key: n" strings.
func diffCounts(before, after map[string]float64) []string {
	var out []string
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out = append(out, fmt.Sprintf("%s: %.0f", k, d))
		}
	}
	sort.Strings(out)
	return out
}
