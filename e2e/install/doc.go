// Package install tests the Helm chart as a user installs it: bin/helm installs, upgrades and
// uninstalls charts/fedplane on a lab host that has nothing of fedplane yet, and the tests check
// the objects that each step leaves in the host. fed-controller's pods never run there (the
// lab's kubelets are simulated), so the tests look at objects only.
package install
