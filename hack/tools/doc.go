// Package tools pins the versions of the programs that the lab builds from source (see the
// Makefile); it is a module of its own so that the project's module does not depend on them.
package tools
