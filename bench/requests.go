package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	corev1alpha1 "github.com/fedplane/fedplane/api/core/v1alpha1"
	"github.com/fedplane/fedplane/pkg/federate"
)

// crdResource is the resource of CustomResourceDefinitions.
var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// costNamespace holds the objects of the request-cost phase.
const costNamespace = "bench-cost"

// costRequests is how many requests of each kind the request-cost phase makes, at most.
const costRequests = 500

// RequestCost is what one request of a kind cost, measured over Requests of them made alone.
type RequestCost struct {
	// Request is the API server ("host" or a member), the resource and the verb, such as
	// "host federatedconfigmaps PATCH status".
	Request  string `json:"request"`
	Requests int    `json:"requests"`
	// APIServerMillis and EtcdMillis are the CPU milliseconds per request of the API server
	// that served it and of etcd; PerSecond is the requests served per second.
	APIServerMillis float64 `json:"apiServerMillis"`
	EtcdMillis      float64 `json:"etcdMillis"`
	PerSecond       float64 `json:"perSecond"`
}

func (c RequestCost) String() string {
	return fmt.Sprintf("%-46s %5.2f ms API server + %4.2f ms etcd CPU per request (%d requests, %.0f/s)", c.Request, c.APIServerMillis, c.EtcdMillis, c.Requests, c.PerSecond)
}

// costStep is one kind of request the request-cost phase measures: its i-th request.
type costStep struct {
	request string
	cluster string
	do      func(ctx context.Context, i int) error
}

// requestCosts measures, one kind after the other, the CPU that each kind of request
// fed-controller makes per federated object costs the API server that serves it and etcd:
// the user's create of the federated object, the finalizer patch, the status patch, the
// PropagatedVersion's create and the event on the host, a native ConfigMap create on the host
// for comparison, and a member object's create.
func (b *bench) requestCosts(ctx context.Context) error {
	k := min(b.cfg.n, costRequests)
	if err := b.createNamespace(ctx, b.lab.Host().RESTConfig(), costNamespace); err != nil {
		return err
	}
	member := b.members[0]
	if err := b.createNamespace(ctx, b.memberCfg[member], costNamespace); err != nil {
		return err
	}
	for _, step := range b.costSteps(member) {
		cost, err := b.measureCost(ctx, step, k)
		if err != nil {
			return fmt.Errorf("%s: %w", step.request, err)
		}
		b.logf("requests: %s", cost)
		b.result.RequestCosts = append(b.result.RequestCosts, cost)
	}
	return b.removeCostObjects(ctx, k, member)
}

func (b *bench) costSteps(member string) []costStep {
	fedRes := b.hostDyn.Resource(b.kind.FederatedResource).Namespace(costNamespace)
	fed := b.kind.FederatedResource.Resource
	finalizer := []byte(fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, limitFinalizer))
	status := b.limitStatus(1)
	pvs := b.hostDyn.Resource(corev1alpha1.GroupVersion.WithResource("propagatedversions")).Namespace(costNamespace)
	events := b.hostDyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "events"}).Namespace(costNamespace)
	hostTargets := b.hostDyn.Resource(b.kind.Resource).Namespace(costNamespace)
	memberTargets := b.memberDyn[member].Resource(b.kind.Resource).Namespace(costNamespace)
	return []costStep{
		{request: fed + " POST", cluster: "host", do: func(ctx context.Context, i int) error {
			_, err := fedRes.Create(ctx, b.kind.federated(costNamespace, i, 1, b.members), metav1.CreateOptions{})
			return err
		}},
		{request: fed + " PATCH (finalizer)", cluster: "host", do: func(ctx context.Context, i int) error {
			_, err := fedRes.Patch(ctx, objectName(i), types.MergePatchType, finalizer, metav1.PatchOptions{})
			return err
		}},
		{request: fed + " PATCH status", cluster: "host", do: func(ctx context.Context, i int) error {
			_, err := fedRes.Patch(ctx, objectName(i), types.MergePatchType, status, metav1.PatchOptions{}, "status")
			return err
		}},
		{request: "propagatedversions POST", cluster: "host", do: func(ctx context.Context, i int) error {
			_, err := pvs.Create(ctx, b.costVersion(i), metav1.CreateOptions{})
			return err
		}},
		{request: "events POST", cluster: "host", do: func(ctx context.Context, i int) error {
			_, err := events.Create(ctx, b.costEvent(i), metav1.CreateOptions{})
			return err
		}},
		{request: b.kind.Resource.Resource + " POST (native, for comparison)", cluster: "host", do: func(ctx context.Context, i int) error {
			_, err := hostTargets.Create(ctx, b.kind.member(costNamespace, i, 1, "host", controlPlaneID), metav1.CreateOptions{})
			return err
		}},
		{request: b.kind.Resource.Resource + " POST", cluster: member, do: func(ctx context.Context, i int) error {
			_, err := memberTargets.Create(ctx, b.kind.member(costNamespace, i, 1, member, controlPlaneID), metav1.CreateOptions{})
			return err
		}},
	}
}

// measureCost makes k requests of a step, b.cfg.inflight at a time, and reads the CPU its
// API server and etcd used meanwhile.
func (b *bench) measureCost(ctx context.Context, step costStep, k int) (RequestCost, error) {
	apiBefore, etcdBefore, err := b.serverCPU(step.cluster)
	if err != nil {
		return RequestCost{}, err
	}
	started := time.Now()
	if err := inParallel(ctx, b.cfg.inflight, k, step.do); err != nil {
		return RequestCost{}, err
	}
	elapsed := time.Since(started).Seconds()
	apiAfter, etcdAfter, err := b.serverCPU(step.cluster)
	if err != nil {
		return RequestCost{}, err
	}
	return RequestCost{
		Request:         step.cluster + " " + step.request,
		Requests:        k,
		APIServerMillis: round((apiAfter-apiBefore)*1000/float64(k), 2),
		EtcdMillis:      round((etcdAfter-etcdBefore)*1000/float64(k), 2),
		PerSecond:       round(float64(k)/elapsed, 0),
	}, nil
}

// serverCPU reads the CPU seconds so far of a cluster's API server and of the lab's etcd.
func (b *bench) serverCPU(cluster string) (apiServer, etcd float64, err error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, err
	}
	found := false
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.Contains(string(raw), b.dir) {
			continue
		}
		args := strings.Split(string(raw), "\x00")
		prog := args[0][strings.LastIndexByte(args[0], '/')+1:]
		cpu, err := cpuSeconds(pid)
		if err != nil {
			continue
		}
		switch {
		case prog == "etcd":
			etcd += cpu
		case prog == "kube-apiserver" && hasArg(args, "--etcd-prefix=/"+cluster):
			apiServer += cpu
			found = true
		}
	}
	if !found {
		return 0, 0, fmt.Errorf("no kube-apiserver of %s found in the lab", cluster)
	}
	return apiServer, etcd, nil
}

func hasArg(args []string, want string) bool {
	for _, a := range args {
		if a == want {
			return true
		}
	}
	return false
}

// costVersion is the i-th PropagatedVersion, as fed-controller writes one for a federated
// object in every member.
func (b *bench) costVersion(i int) *unstructured.Unstructured {
	v := &corev1alpha1.PropagatedVersion{
		TypeMeta:   metav1.TypeMeta{APIVersion: corev1alpha1.GroupVersion.String(), Kind: "PropagatedVersion"},
		ObjectMeta: metav1.ObjectMeta{Name: federate.PropagatedVersionName(b.kind.Target.Kind, objectName(i)), Namespace: costNamespace},
		Status: corev1alpha1.PropagatedVersionStatus{
			TemplateVersion: "0123456789abcdef0123456789abcdef", OverrideVersion: "fedcba9876543210fedcba9876543210",
		},
	}
	for j, m := range b.members {
		v.Status.ClusterVersions = append(v.Status.ClusterVersions, corev1alpha1.ClusterObjectVersion{ClusterName: m, Version: fmt.Sprintf("rv:%d", 100000+i*len(b.members)+j)})
	}
	obj, err := toUnstructured(v)
	if err != nil {
		panic(err)
	}
	return obj
}

// costEvent is the i-th event, as fed-controller records one when it creates the copies.
func (b *bench) costEvent(i int) *unstructured.Unstructured {
	now := metav1.NewTime(time.Now())
	ev := &corev1.Event{
		TypeMeta:       metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", objectName(i), i), Namespace: costNamespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: b.kind.Federated.GroupVersion().String(), Kind: b.kind.Federated.Kind, Namespace: costNamespace, Name: objectName(i)},
		Reason:         "CreateInClusters", Type: corev1.EventTypeNormal,
		Message:        fmt.Sprintf("Created %s %s/%s in clusters %s", b.kind.Target.Kind, costNamespace, objectName(i), strings.Join(b.members, ", ")),
		Source:         corev1.EventSource{Component: "fed-controller"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	obj, err := toUnstructured(ev)
	if err != nil {
		panic(err)
	}
	return obj
}

// removeCostObjects removes what the request-cost phase made, so that the later phases start
// on an empty lab.
func (b *bench) removeCostObjects(ctx context.Context, k int, member string) error {
	fedRes := b.hostDyn.Resource(b.kind.FederatedResource).Namespace(costNamespace)
	unfinalize := []byte(`{"metadata":{"finalizers":null}}`)
	if err := inParallel(ctx, b.cfg.inflight, k, func(ctx context.Context, i int) error {
		_, err := fedRes.Patch(ctx, objectName(i), types.MergePatchType, unfinalize, metav1.PatchOptions{})
		return err
	}); err != nil {
		return err
	}
	for _, res := range []dynamic.ResourceInterface{
		fedRes,
		b.hostDyn.Resource(corev1alpha1.GroupVersion.WithResource("propagatedversions")).Namespace(costNamespace),
		b.hostDyn.Resource(b.kind.Resource).Namespace(costNamespace),
		b.memberDyn[member].Resource(b.kind.Resource).Namespace(costNamespace),
	} {
		if err := res.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// memberLimitRun times the N×M member creates alone, in namespace ns of every member, with no
// host write, then removes them.
func (b *bench) memberLimitRun(ctx context.Context, ns string) (float64, error) {
	n, m := b.cfg.n, len(b.members)
	for _, name := range b.members {
		if err := b.createNamespace(ctx, b.memberCfg[name], ns); err != nil {
			return 0, err
		}
	}
	started := time.Now()
	err := inParallel(ctx, b.cfg.inflight, n*m, func(ctx context.Context, r int) error {
		i, cluster := r/m, b.members[r%m]
		_, err := b.memberDyn[cluster].Resource(b.kind.Resource).Namespace(ns).
			Create(ctx, b.kind.member(ns, i, 1, cluster, controlPlaneID), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("the member writes failed: %w", err)
	}
	seconds := round(time.Since(started).Seconds(), 2)
	b.logf("member limit: %d creates in %.1fs", n*m, seconds)
	for _, name := range b.members {
		if err := b.memberDyn[name].Resource(b.kind.Resource).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			return 0, err
		}
	}
	return seconds, nil
}

func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// replaceCRDs applies the CustomResourceDefinitions of a YAML file over those the lab
// installed (-crds), so that the same run can be measured with other schemas, such as
// KubeFed's, and waits a moment for the API server to serve them.
func (b *bench) replaceCRDs(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	crds := b.hostDyn.Resource(crdResource)
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	replaced := 0
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		if obj.GetKind() != "CustomResourceDefinition" {
			continue
		}
		live, err := crds.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("%s: CRD %s is not installed: %w", path, obj.GetName(), err)
		}
		obj.SetResourceVersion(live.GetResourceVersion())
		if _, err := crds.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("%s: failed to replace CRD %s: %w", path, obj.GetName(), err)
		}
		replaced++
	}
	b.logf("replaced %d CRDs from %s", replaced, path)
	time.Sleep(5 * time.Second)
	return nil
}
