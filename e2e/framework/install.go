package framework

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/config"
	"github.com/fedplane/fedplane/pkg/manifests"
)

// InstallFieldManager is the field manager of what Install applies.
const InstallFieldManager = "fedplane-install"

var crdResource = apiextv1.SchemeGroupVersion.WithResource("customresourcedefinitions")

// ftcResource is the FederatedTypeConfig resource.
var ftcResource = corev1beta1.GroupVersion.WithResource("federatedtypeconfigs")

// Install applies fedplane's CRDs (API kinds and default federated types) to the cluster of cfg
// with server-side apply, waits until they are established, then creates the control plane's
// namespace and applies the default FederatedTypeConfigs. It can be run again at any time.
func Install(ctx context.Context, cfg *rest.Config) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	crds, err := embeddedManifests("crd/bases", "crd/federated")
	if err != nil {
		return err
	}
	for _, crd := range crds {
		if _, err := dyn.Resource(crdResource).Apply(ctx, crd.GetName(), crd, metav1.ApplyOptions{FieldManager: InstallFieldManager, Force: true}); err != nil {
			return fmt.Errorf("failed to apply CRD %s: %w", crd.GetName(), err)
		}
	}
	for _, crd := range crds {
		if err := waitEstablished(ctx, dyn, crd.GetName()); err != nil {
			return err
		}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: corev1beta1.DefaultNamespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: %w", ns.Name, err)
	}
	ftcs, err := embeddedManifests("federatedtypeconfigs")
	if err != nil {
		return err
	}
	for _, ftc := range ftcs {
		_, err := dyn.Resource(ftcResource).Namespace(ftc.GetNamespace()).Apply(ctx, ftc.GetName(), ftc, metav1.ApplyOptions{FieldManager: InstallFieldManager, Force: true})
		if err != nil {
			return fmt.Errorf("failed to apply FederatedTypeConfig %s: %w", ftc.GetName(), err)
		}
	}
	return nil
}

// InstalledCRDNames lists the names of the CRDs that Install applies.
func InstalledCRDNames() ([]string, error) {
	crds, err := embeddedManifests("crd/bases", "crd/federated")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(crds))
	for _, c := range crds {
		names = append(names, c.GetName())
	}
	return names, nil
}

func waitEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		u, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == string(apiextv1.Established) && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s was not established: %w", name, err)
	}
	return nil
}

// embeddedManifests decodes every object of the YAML files in the given directories of config.Manifests,
// in file name order.
func embeddedManifests(dirs ...string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, dir := range dirs {
		entries, err := fs.ReadDir(config.Manifests, dir)
		if err != nil {
			return nil, fmt.Errorf("failed to list %s: %w", dir, err)
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for _, e := range entries {
			p := path.Join(dir, e.Name())
			data, err := fs.ReadFile(config.Manifests, p)
			if err != nil {
				return nil, err
			}
			docs, err := manifests.Decode(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			objs = append(objs, docs...)
		}
	}
	return objs, nil
}
