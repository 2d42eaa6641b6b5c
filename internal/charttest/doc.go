// Package charttest tests the Helm chart charts/fedplane: the objects that helm template renders
// with the default values and with a KubeFed values file (golden files), helm lint, and the
// values that the chart refuses. The tests run bin/helm, found through FEDPLANE_LAB_BIN.
package charttest
