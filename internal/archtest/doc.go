// Package archtest holds tests of the project's architecture: which packages may import what.
package archtest
