// Package cluster is fedplane's view of its member clusters: how to reach each one from its
// KubeFedCluster registration (REST configuration, TLS checks, proxy), and how probe results
// turn into the registration's health conditions.
package cluster
