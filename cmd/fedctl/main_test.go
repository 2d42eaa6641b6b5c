package main

import (
	"os"
	"testing"

	"github.com/fedplane/fedplane/e2e/framework"
)

// lab serves the join and unjoin tests, in which host2 is a second host that joins the same
// member; the plan tests need none.
var lab *framework.Lab

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithLab(m, framework.Options{Members: []string{"local", "cce", "host2"}}, &lab))
}
