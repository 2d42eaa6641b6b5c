// Package cluster tests fedplane's view of member clusters against real lab API servers:
// connecting with each TLS mode, and probing healthy, hung and misconfigured members.
package cluster
