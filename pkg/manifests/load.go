package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Stdin is the path that names standard input in Load's paths, as with kubectl -f -.
const Stdin = "-"

// Object is one object read from a manifest file.
type Object struct {
	// File is the file the object was read from ("-" for standard input).
	File string
	// Index is the object's position in the file, from 1.
	Index int
	// Item is the object's position, from 1, in the items of the list that document Index
	// holds (kind: List, as kubectl get -o yaml prints, or any kind ending in List); 0 when the
	// document is the object itself.
	Item int
	// Object is the object.
	Object *unstructured.Unstructured
}

// Source names where the object came from: the file, the document number, and the item
// number when the document is a list.
func (o Object) Source() string {
	file := displayName(o.File)
	if o.Item > 0 {
		return fmt.Sprintf("%s (document %d, item %d)", file, o.Index, o.Item)
	}
	return fmt.Sprintf("%s (document %d)", file, o.Index)
}

// Load reads every object of the given files, and of the .yaml, .yml and .json files under the
// given directories, in path order. A path "-" reads standard input.
func Load(paths ...string) ([]Object, error) { return LoadFrom(os.Stdin, paths...) }

// LoadFrom is Load with stdin as what the path "-" reads; stdin can be read once only, so "-"
// may be given once. A document that is a list (kind List, or any kind ending in List, with
// items) gives its items, each with the list's apiVersion and the kind without "List" when it
// has none of its own.
func LoadFrom(stdin io.Reader, paths ...string) ([]Object, error) {
	var files []string
	stdinSeen := false
	for _, p := range paths {
		if p == Stdin {
			if stdinSeen {
				return nil, errors.New(`standard input ("-") can be read only once`)
			}
			stdinSeen = true
			files = append(files, p)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", p, err)
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".yaml", ".yml", ".json":
				if !d.IsDir() {
					found = append(found, path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("failed to read directory %s: %w", p, err)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	var objs []Object
	for _, f := range files {
		var data []byte
		var err error
		if f == Stdin {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", displayName(f), err)
		}
		decoded, err := Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", displayName(f), err)
		}
		for i, o := range decoded {
			items, err := listItems(o)
			if err != nil {
				return nil, fmt.Errorf("%s (document %d): %w", displayName(f), i+1, err)
			}
			if items == nil {
				objs = append(objs, Object{File: f, Index: i + 1, Object: o})
				continue
			}
			for j, item := range items {
				objs = append(objs, Object{File: f, Index: i + 1, Item: j + 1, Object: item})
			}
		}
	}
	return objs, nil
}

// displayName is how messages name a path of Load.
func displayName(path string) string {
	if path == Stdin {
		return "standard input"
	}
	return path
}

// listItems returns the items of a list document, or nil when the document is no list. An
// empty list gives an empty, non-nil slice.
func listItems(o *unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	if !strings.HasSuffix(o.GetKind(), "List") || !o.IsList() {
		return nil, nil
	}
	raw, _, err := unstructured.NestedSlice(o.Object, "items")
	if err != nil {
		return nil, fmt.Errorf("%s: items: %w", o.GetKind(), err)
	}
	items := make([]*unstructured.Unstructured, 0, len(raw))
	for j, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: items[%d]: not an object", o.GetKind(), j)
		}
		item := &unstructured.Unstructured{Object: m}
		if o.GetKind() != "List" {
			// A typed list (DeploymentList) may leave its items' apiVersion and kind out.
			if item.GetAPIVersion() == "" {
				item.SetAPIVersion(o.GetAPIVersion())
			}
			if item.GetKind() == "" {
				item.SetKind(strings.TrimSuffix(o.GetKind(), "List"))
			}
		}
		if item.GetKind() == "" {
			return nil, fmt.Errorf("%s: items[%d]: kind is missing", o.GetKind(), j)
		}
		items = append(items, item)
	}
	return items, nil
}

// Decode decodes the objects of a multi-document YAML or JSON stream, skipping empty
// documents. Numbers decode as unstructured objects hold them (int64 or float64).
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for i := 1; ; i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || string(trimmed) == "null" {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		objs = append(objs, obj)
	}
}
