package manifests

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/config"
)

// Validator checks objects against CRD schemas, as the API server does on create.
type Validator struct {
	kinds map[schema.GroupVersionKind]*kindValidator
	// federated validates federated kinds that have no CRD of their own here (types enabled
	// later): the shared frame, with a free-form template.
	federated *kindValidator
}

type kindValidator struct {
	schema     validation.SchemaValidator
	structural *structuralschema.Structural
	cel        *cel.Validator
}

// NewValidator returns a Validator for every CRD that fedplane ships (config.Manifests).
func NewValidator() (*Validator, error) {
	v := &Validator{kinds: map[schema.GroupVersionKind]*kindValidator{}}
	for _, dir := range []string{"crd/bases", "crd/federated", "crd/federated-base"} {
		entries, err := fs.ReadDir(config.Manifests, dir)
		if err != nil {
			return nil, fmt.Errorf("failed to list embedded CRDs: %w", err)
		}
		for _, e := range entries {
			data, err := fs.ReadFile(config.Manifests, path.Join(dir, e.Name()))
			if err != nil {
				return nil, err
			}
			var crd apiextv1.CustomResourceDefinition
			if err := yaml.Unmarshal(data, &crd); err != nil {
				return nil, fmt.Errorf("failed to decode embedded CRD %s: %w", e.Name(), err)
			}
			for _, ver := range crd.Spec.Versions {
				kv, err := newKindValidator(ver.Schema.OpenAPIV3Schema)
				if err != nil {
					return nil, fmt.Errorf("CRD %s: %w", crd.Name, err)
				}
				if dir == "crd/federated-base" {
					v.federated = kv
					continue
				}
				v.kinds[schema.GroupVersionKind{Group: crd.Spec.Group, Version: ver.Name, Kind: crd.Spec.Names.Kind}] = kv
			}
		}
	}
	if v.federated == nil {
		return nil, errors.New("the embedded federated base CRD is missing")
	}
	return v, nil
}

func newKindValidator(s *apiextv1.JSONSchemaProps) (*kindValidator, error) {
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(s, internal, nil); err != nil {
		return nil, fmt.Errorf("failed to convert schema: %w", err)
	}
	sv, _, err := validation.NewSchemaValidator(internal)
	if err != nil {
		return nil, fmt.Errorf("failed to build schema validator: %w", err)
	}
	ss, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, fmt.Errorf("failed to build structural schema: %w", err)
	}
	return &kindValidator{schema: sv, structural: ss, cel: cel.NewValidator(ss, true, celconfig.PerCallLimit)}, nil
}

// Knows reports whether the Validator has a schema for the object's kind: one of fedplane's
// CRDs, or any kind of the federated types' group.
func (v *Validator) Knows(gvk schema.GroupVersionKind) bool {
	_, ok := v.kinds[gvk]
	return ok || gvk.GroupVersion() == typesv1beta1.GroupVersion
}

// Validate returns the problems the API server would refuse obj for: unknown fields, schema
// violations, duplicate list keys and CEL rules, each with its field path. Objects of kinds
// it does not know are not checked.
func (v *Validator) Validate(ctx context.Context, obj *unstructured.Unstructured) field.ErrorList {
	gvk := obj.GroupVersionKind()
	kv, ok := v.kinds[gvk]
	if !ok {
		if gvk.GroupVersion() != typesv1beta1.GroupVersion {
			return nil
		}
		kv = v.federated
	}
	var errs field.ErrorList
	if obj.GetName() == "" && obj.GetGenerateName() == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "name or generateName is required"))
	}
	// Unknown fields: kubectl apply validates strictly, so they are refused, not dropped.
	pruned := obj.DeepCopy()
	unknown := pruning.PruneWithOptions(pruned.Object, kv.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, p := range unknown {
		errs = append(errs, field.Invalid(field.NewPath(strings.Split(p, ".")[0], strings.Split(p, ".")[1:]...), nil, "unknown field"))
	}
	errs = append(errs, validation.ValidateCustomResource(nil, pruned.Object, kv.schema)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, kv.structural, pruned.Object)...)
	if len(errs) == 0 {
		celErrs, _ := kv.cel.Validate(ctx, nil, kv.structural, pruned.Object, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	return errs
}
