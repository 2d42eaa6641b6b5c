// Package manifests reads KubeFed manifests from files and directories and validates them
// offline against fedplane's CRDs, with the same schema, CEL and list rules, and the same
// messages, as the API server applies at `kubectl apply` time.
package manifests
