package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fedplane/fedplane/e2e/framework"
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
