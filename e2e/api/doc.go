// Package api tests fedplane's API on a real API server: the CRDs install, every KubeFed
// manifest of the seed fixtures is accepted unchanged, every invalid fixture is refused with the
// offending field named, and the federated types' schemas match the live API.
package api
