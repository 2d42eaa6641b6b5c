// Package jsonhash hashes values by their JSON encoding, as KubeFed hashes templates and
// overrides, so that equal content gives the same hash whatever the Go types that hold it.
package jsonhash
