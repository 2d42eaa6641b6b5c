// Command image builds fed-controller's OCI image without Docker and without pulling a base
// image, and pushes it. The Makefile's image and image-push targets run it.
//
//	image build --binaries bin/image-binaries --platforms linux/amd64,linux/arm64 \
//	    --version v0.3.0 --revision 1a2b3c4... --layout bin/image --tarball bin/fed-controller-image.tar
//	image push  --layout bin/image --image registry.example.com/fedplane/fed-controller:v0.3.0
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(`a command is needed: "build" or "push"`)
	}
	switch args[0] {
	case "build":
		return buildCommand(args[1:])
	case "push":
		return pushCommand(args[1:])
	default:
		return fmt.Errorf(`unknown command %q: "build" or "push"`, args[0])
	}
}

func buildCommand(args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	var o buildOptions
	var platforms string
	fs.StringVar(&o.binaries, "binaries", "", "directory with one static fed-controller per platform, in OS_ARCH/fed-controller")
	fs.StringVar(&platforms, "platforms", defaultPlatform, "comma-separated platforms (OS/ARCH) of the image; the tarball holds the first")
	fs.StringVar(&o.version, "version", "dev", "version, in the image's labels and the tarball's tag")
	fs.StringVar(&o.revision, "revision", "unknown", "commit, in the image's labels")
	fs.StringVar(&o.layout, "layout", "", "directory of the OCI layout to write (replaced when it holds one)")
	fs.StringVar(&o.tarball, "tarball", "", "file to write the first platform's image to, for docker load; empty writes none")
	fs.StringVar(&o.repository, "repository", "fed-controller", "repository of the tarball's tag")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.binaries == "" || o.layout == "" {
		return errors.New("--binaries and --layout are required")
	}
	o.platforms = strings.Split(platforms, ",")
	idx, err := build(o)
	if err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return fmt.Errorf("failed to compute the index digest: %w", err)
	}
	fmt.Printf("image: wrote %s (index %s) for %s\n", o.layout, d, platforms)
	return nil
}

func pushCommand(args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	dir := fs.String("layout", "", "directory of the OCI layout that image build wrote")
	image := fs.String("image", "", "reference to push to, REGISTRY/REPOSITORY:TAG")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *image == "" {
		return errors.New("--layout and --image are required")
	}
	d, err := push(*dir, *image, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return err
	}
	fmt.Printf("image: pushed %s@%s\n", *image, d)
	return nil
}
