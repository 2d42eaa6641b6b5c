// Package config embeds fedplane's generated manifests, so that programs can install them
// without reading the source tree: the CRDs of the API kinds, the CRDs of the default federated
// types, their FederatedTypeConfigs, and the frame that every federated type's CRD shares.
package config

import "embed"

// Manifests holds crd/bases (API kinds), crd/federated (default federated types),
// federatedtypeconfigs (their FederatedTypeConfigs) and crd/federated-base (the shared frame).
//
//go:embed crd/bases/*.yaml crd/federated/*.yaml crd/federated-base/*.yaml federatedtypeconfigs/*.yaml
var Manifests embed.FS

// FederatedBaseCRD is the path, in Manifests, of the CRD generated from the shared federated
// shape; its spec.template is replaced per federated type.
const FederatedBaseCRD = "crd/federated-base/types.kubefed.io_federatedobjects.yaml"
