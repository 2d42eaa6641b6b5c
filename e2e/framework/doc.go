// Package framework starts and drives the local lab: real etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok processes on loopback, one host cluster and
// any number of member clusters. Tests use it to run against real API servers and to inject
// failures (hang, resume, kill and restart a member's API server); `make lab` uses it to start a
// lab that outlives the command.
package framework
