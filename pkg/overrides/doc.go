// Package overrides renders the object that one member cluster receives: the federated
// object's template with its identity forced, the cluster's JSON-patch overrides applied and
// the managed label added, following KubeFed's rules. It is pure and never touches an API
// server.
package overrides
