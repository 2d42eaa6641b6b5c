package main

import (
	"archive/tar"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeBinaries writes a small file per platform where build looks for fed-controller.
func fakeBinaries(t *testing.T, platforms ...string) (string, map[string]string) {
	t.Helper()
	dir, contents := t.TempDir(), map[string]string{}
	for _, p := range platforms {
		pl, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatal(err)
		}
		sub := filepath.Join(dir, pl.OS+"_"+pl.Architecture)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		contents[p] = "\x7fELF not really " + p
		if err := os.WriteFile(filepath.Join(sub, binaryName), []byte(contents[p]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, contents
}

func testOptions(t *testing.T, platforms ...string) (buildOptions, map[string]string) {
	t.Helper()
	bins, contents := fakeBinaries(t, platforms...)
	out := t.TempDir()
	return buildOptions{
		binaries: bins, platforms: platforms, version: "v0.3.0-2-g1a2b3c4", revision: "1a2b3c4d5e6f",
		layout: filepath.Join(out, "image"), tarball: filepath.Join(out, "fed-controller-image.tar"),
		repository: "fed-controller",
	}, contents
}

func TestBuildWritesANonRootScratchImagePerPlatform(t *testing.T) {
	o, contents := testOptions(t, "linux/amd64", "linux/arm64")
	if _, err := build(o); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(o.layout)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("the index has %d manifests, want 2", len(im.Manifests))
	}
	for i, p := range o.platforms {
		d := im.Manifests[i]
		if d.Platform == nil || d.Platform.String() != p {
			t.Errorf("manifest %d is for %v, want %s", i, d.Platform, p)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img, p, contents[p])
	}
}

func TestBuildWritesTheFirstPlatformAsATarball(t *testing.T) {
	o, contents := testOptions(t, "linux/amd64", "linux/arm64")
	if _, err := build(o); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag("fed-controller:v0.3.0-2-g1a2b3c4")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(o.tarball, &tag)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img, "linux/amd64", contents["linux/amd64"])
}

func TestBuildReplacesOnlyAnOCILayout(t *testing.T) {
	o, _ := testOptions(t, "linux/amd64")
	if _, err := build(o); err != nil {
		t.Fatal(err)
	}
	if _, err := build(o); err != nil {
		t.Errorf("a second build did not replace the first one's layout: %v", err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	o.layout = other
	if _, err := build(o); err == nil {
		t.Error("build wrote into a directory that held something else than a layout")
	}
	if _, err := os.Stat(filepath.Join(other, "notes.txt")); err != nil {
		t.Errorf("build removed a file it did not write: %v", err)
	}
}

func TestBuildFailsWithoutTheBinary(t *testing.T) {
	o, _ := testOptions(t, "linux/amd64")
	o.platforms = []string{"linux/amd64", "linux/s390x"}
	if _, err := build(o); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("build() = %v, want the missing linux/s390x binary", err)
	}
}

func TestPushSendsTheIndexToARegistry(t *testing.T) {
	o, contents := testOptions(t, "linux/amd64", "linux/arm64")
	built, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	image := u.Host + "/fedplane/fed-controller:v0.3.0"
	got, err := push(o.layout, image)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := built.Digest(); got != want {
		t.Errorf("pushed digest %s, want %s", got, want)
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img, "linux/arm64", contents["linux/arm64"])
}

// checkImage checks img's config and that its one layer holds the binary, executable.
func checkImage(t *testing.T, img v1.Image, platform, content string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{
		Entrypoint: []string{"/fed-controller"},
		User:       "65532:65532",
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.version":  "v0.3.0-2-g1a2b3c4",
			"org.opencontainers.image.revision": "1a2b3c4d5e6f",
			"org.opencontainers.image.title":    "fed-controller",
			"org.opencontainers.image.source":   "https://github.com/fedplane/fedplane",
		},
	}
	if diff := cmp.Diff(want, cf.Config); diff != "" {
		t.Errorf("%s config (-want +got):\n%s", platform, diff)
	}
	if got := cf.OS + "/" + cf.Architecture; got != platform {
		t.Errorf("config platform = %s, want %s", got, platform)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%s image has %d layers, want 1", platform, len(layers))
	}
	files := layerFiles(t, layers[0])
	if diff := cmp.Diff(map[string]layerFile{"fed-controller": {mode: 0o755, content: content}}, files, cmp.AllowUnexported(layerFile{})); diff != "" {
		t.Errorf("%s layer (-want +got):\n%s", platform, diff)
	}
}

type layerFile struct {
	mode    int64
	uid     int
	content string
}

func layerFiles(t *testing.T, l v1.Layer) map[string]layerFile {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	files := map[string]layerFile{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = layerFile{mode: hdr.Mode, uid: hdr.Uid, content: string(b)}
	}
}
