// Package kubefedmetrics exports fed-controller's measurements under KubeFed's metric names,
// types, labels and buckets, beside fedplane's own, so that dashboards made for KubeFed keep
// working.
package kubefedmetrics
