// Command gen-federated-types writes the CRDs and FederatedTypeConfigs of the default federated
// types (`make manifests`). The template schemas come from a snapshot of a real API server's
// OpenAPI v3 schemas in --openapi-dir, which --refresh-from renews from a live cluster
// (`make openapi-snapshot`, with the lab up).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/config"
	"github.com/fedplane/fedplane/pkg/federate/typegen"
)

func main() {
	openapiDir := flag.String("openapi-dir", "config/openapi", "directory of the OpenAPI v3 snapshot, one file per API group version")
	crdDir := flag.String("crd-dir", "config/crd/federated", "directory to write the federated types' CRDs to")
	ftcDir := flag.String("ftc-dir", "config/federatedtypeconfigs", "directory to write the FederatedTypeConfigs to")
	baseCRD := flag.String("base-crd", "config/"+config.FederatedBaseCRD, "the CRD generated from the shared federated shape")
	refresh := flag.String("refresh-from", "", "kubeconfig of a live cluster to take a new snapshot from before generating")
	kubeContext := flag.String("context", "", "kubeconfig context, with --refresh-from")
	flag.Parse()

	if err := run(*openapiDir, *crdDir, *ftcDir, *baseCRD, *refresh, *kubeContext); err != nil {
		fmt.Fprintln(os.Stderr, "gen-federated-types:", err)
		os.Exit(1)
	}
}

func run(openapiDir, crdDir, ftcDir, baseCRD, refresh, kubeContext string) error {
	targets := typegen.DefaultTargets()
	if refresh != "" {
		if err := snapshot(refresh, kubeContext, openapiDir, targets); err != nil {
			return err
		}
	}
	baseData, err := os.ReadFile(baseCRD)
	if err != nil {
		return fmt.Errorf("failed to read the base CRD (run controller-gen first): %w", err)
	}
	base, err := typegen.ParseBaseCRD(baseData)
	if err != nil {
		return err
	}
	for _, dir := range []string{crdDir, ftcDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	for _, t := range targets {
		doc, err := readDocument(filepath.Join(openapiDir, snapshotFile(t)))
		if err != nil {
			return err
		}
		tmpl, err := typegen.TemplateSchema(doc, t)
		if err != nil {
			return fmt.Errorf("%s: %w", t.TypeConfigName(), err)
		}
		crd := typegen.CRD(base, t, tmpl)
		if err := writeYAML(filepath.Join(crdDir, crd.Name+".yaml"), crd); err != nil {
			return err
		}
		ftc := t.TypeConfig(corev1beta1.DefaultNamespace)
		if err := writeYAML(filepath.Join(ftcDir, ftc.Name+".yaml"), ftc); err != nil {
			return err
		}
	}
	return nil
}

// snapshotFile is the snapshot file of the target's group version: "apis__apps__v1.json".
func snapshotFile(t typegen.Target) string {
	return strings.ReplaceAll(t.OpenAPIPath(), "/", "__") + ".json"
}

func readDocument(path string) (typegen.Document, error) {
	var doc typegen.Document
	b, err := os.ReadFile(path)
	if err != nil {
		return doc, fmt.Errorf("failed to read the OpenAPI snapshot: %w", err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return doc, fmt.Errorf("failed to decode %s: %w", path, err)
	}
	return doc, nil
}

func writeYAML(path string, obj any) error {
	b, err := typegen.MarshalYAML(obj)
	if err != nil {
		return fmt.Errorf("failed to encode %s: %w", path, err)
	}
	return os.WriteFile(path, append([]byte("---\n"), b...), 0o644)
}

// snapshot fetches the OpenAPI v3 documents of the targets' group versions from a live cluster
// and writes them, pruned to the schemas the targets reach and without descriptions.
func snapshot(kubeconfig, kubeContext, dir string, targets []typegen.Target) error {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext},
	).ClientConfig()
	if err != nil {
		return fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	paths, err := dc.OpenAPIV3().Paths()
	if err != nil {
		return fmt.Errorf("failed to list OpenAPI v3 paths: %w", err)
	}
	version, err := dc.ServerVersion()
	if err != nil {
		return err
	}
	byPath := map[string][]typegen.Target{}
	for _, t := range targets {
		byPath[t.OpenAPIPath()] = append(byPath[t.OpenAPIPath()], t)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for path, ts := range byPath {
		gv, ok := paths[path]
		if !ok {
			return fmt.Errorf("the cluster publishes no OpenAPI v3 document at %s", path)
		}
		raw, err := gv.Schema("application/json")
		if err != nil {
			return fmt.Errorf("failed to fetch %s: %w", path, err)
		}
		var doc typegen.Document
		if err := json.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("failed to decode %s: %w", path, err)
		}
		var roots []string
		for _, t := range ts {
			name, err := doc.FindKind(t.Group, t.Version, t.Kind)
			if err != nil {
				return err
			}
			roots = append(roots, name)
		}
		pruned := typegen.Prune(doc, roots)
		b, err := json.MarshalIndent(pruned, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, snapshotFile(ts[0])), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	readme := fmt.Sprintf("# OpenAPI snapshot\n\nThe OpenAPI v3 schemas of kube-apiserver %s for the default federated types, pruned to\nthe schemas those types reach and without descriptions. `make manifests` generates the\nfederated CRDs from them; `make openapi-snapshot` (with the lab up) takes them anew.\n", version.GitVersion)
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644)
}
