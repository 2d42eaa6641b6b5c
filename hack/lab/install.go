package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fedplane/fedplane/e2e/framework"
	"github.com/fedplane/fedplane/pkg/manifests"
)

func restConfig(kubeconfig, kubeContext string) (*rest.Config, error) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext},
	).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig %s (is the lab up? run `make lab`): %w", kubeconfig, err)
	}
	return cfg, nil
}

func install(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("install", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", ".lab/kubeconfig", "kubeconfig of the host cluster")
	kubeContext := fs.String("context", "host", "kubeconfig context of the host cluster")
	_ = fs.Parse(args)
	cfg, err := restConfig(*kubeconfig, *kubeContext)
	if err != nil {
		return err
	}
	started := time.Now()
	if err := framework.Install(ctx, cfg); err != nil {
		return err
	}
	names, err := framework.InstalledCRDNames()
	if err != nil {
		return err
	}
	fmt.Printf("Installed %d CRDs and the default FederatedTypeConfigs into %s in %s.\n", len(names), cfg.Host, time.Since(started).Round(100*time.Millisecond))
	return nil
}

// demo applies the seed manifests (the KubeFed walkthrough) to the host and lists what the
// host holds afterwards.
func demo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", ".lab/kubeconfig", "kubeconfig of the lab")
	kubeContext := fs.String("context", "host", "kubeconfig context of the host cluster")
	fixtures := fs.String("fixtures", "../shared/fixtures", "the fixtures directory with seed/manifests")
	_ = fs.Parse(args)
	cfg, err := restConfig(*kubeconfig, *kubeContext)
	if err != nil {
		return err
	}
	applier, err := framework.NewApplier(cfg)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(*fixtures, "seed", "manifests", "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no seed manifests under %s/seed/manifests", *fixtures)
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		objs, err := manifests.Decode(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, o := range objs {
			if _, err := applier.Apply(ctx, o, "fedplane-demo"); err != nil {
				return fmt.Errorf("%s: %s %s: %w", f, o.GetKind(), o.GetName(), err)
			}
			name := o.GetName()
			if ns := o.GetNamespace(); ns != "" {
				name = ns + "/" + name
			}
			fmt.Printf("applied %s %s\n", strings.ToLower(o.GetKind()), name)
		}
	}
	fmt.Printf("\nThe host holds the walkthrough's federated objects. Look at them with:\n")
	fmt.Printf("  kubectl --kubeconfig %s --context %s get federatednamespaces,federateddeployments,rsp -A\n", *kubeconfig, *kubeContext)
	return nil
}
