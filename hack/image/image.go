package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// binaryName is the file each platform's directory holds, and the image's entrypoint.
	binaryName = "fed-controller"
	// nonRoot is the user and group the container runs as: distroless's "nonroot".
	nonRoot         = "65532:65532"
	defaultPlatform = "linux/amd64"
)

// The OCI image labels (and index annotations) that name the build.
const (
	labelVersion  = "org.opencontainers.image.version"
	labelRevision = "org.opencontainers.image.revision"
	labelTitle    = "org.opencontainers.image.title"
	labelSource   = "org.opencontainers.image.source"
	source        = "https://github.com/fedplane/fedplane"
)

// buildOptions say what image build puts in the image and where it writes it.
type buildOptions struct {
	binaries          string
	platforms         []string
	version, revision string
	layout, tarball   string
	repository        string
}

// build makes one image per platform from scratch, each with one layer that holds that
// platform's binary, writes their index as an OCI layout and the first image as a tarball.
func build(o buildOptions) (v1.ImageIndex, error) {
	if len(o.platforms) == 0 {
		return nil, errors.New("no platform")
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var first v1.Image
	for _, p := range o.platforms {
		platform, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, fmt.Errorf("failed to parse platform %q: %w", p, err)
		}
		img, err := platformImage(filepath.Join(o.binaries, platform.OS+"_"+platform.Architecture, binaryName), *platform, o)
		if err != nil {
			return nil, fmt.Errorf("failed to build the %s image: %w", p, err)
		}
		if first == nil {
			first = img
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: platform}})
	}
	idx = mutate.Annotations(idx, labels(o)).(v1.ImageIndex)
	if err := writeLayout(o.layout, idx); err != nil {
		return nil, err
	}
	if o.tarball != "" {
		if err := writeTarball(o.tarball, o.repository+":"+o.version, first); err != nil {
			return nil, err
		}
	}
	return idx, nil
}

// labels are the image's labels, which name the build.
func labels(o buildOptions) map[string]string {
	return map[string]string{
		labelVersion:  o.version,
		labelRevision: o.revision,
		labelTitle:    binaryName,
		labelSource:   source,
	}
}

// platformImage is the scratch image of one platform: the binary at /fed-controller, run as a
// non-root user.
func platformImage(binary string, platform v1.Platform, o buildOptions) (v1.Image, error) {
	layer, err := binaryLayer(binary)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return nil, fmt.Errorf("failed to add the layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("failed to read the config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = platform.OS, platform.Architecture, platform.Variant
	cf.Config = v1.Config{
		Entrypoint: []string{"/" + binaryName},
		User:       nonRoot,
		WorkingDir: "/",
		Labels:     labels(o),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("failed to set the config: %w", err)
	}
	return img, nil
}

// binaryLayer is a layer whose one file is the binary, at /fed-controller, mode 0755, owned by
// root, with a fixed time, so that the same binary always makes the same layer.
func binaryLayer(binary string) (v1.Layer, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("failed to read the binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: binaryName, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("failed to write the layer: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return nil, fmt.Errorf("failed to write the layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("failed to write the layer: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("failed to make the layer: %w", err)
	}
	return layer, nil
}

// writeLayout writes idx as an OCI layout in dir, replacing the layout an earlier build left
// there; it refuses a directory that holds anything else.
func writeLayout(dir string, idx v1.ImageIndex) error {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err == nil {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("failed to remove the earlier layout: %w", err)
		}
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty and holds no OCI layout: not replacing it", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("failed to read %s: %w", dir, err)
	}
	if _, err := layout.Write(dir, idx); err != nil {
		return fmt.Errorf("failed to write the OCI layout: %w", err)
	}
	return nil
}

// writeTarball writes img, tagged ref, in the format docker load reads.
func writeTarball(file, ref string, img v1.Image) error {
	tag, err := name.NewTag(strings.ToLower(ref))
	if err != nil {
		return fmt.Errorf("failed to parse the tag %q: %w", ref, err)
	}
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		return fmt.Errorf("failed to write the tarball: %w", err)
	}
	return nil
}

// push pushes the index of the OCI layout in dir to image, and returns its digest.
func push(dir, image string, opts ...remote.Option) (v1.Hash, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("failed to parse the image reference %q: %w", image, err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("failed to read the OCI layout: %w", err)
	}
	if err := remote.WriteIndex(ref, idx, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("failed to push %s: %w", ref, err)
	}
	return idx.Digest()
}
