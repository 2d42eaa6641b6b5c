// Command fedctl is fedplane's command line: it joins and unjoins member clusters, enables
// types for federation, federates existing resources and previews plans.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand(os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "fedctl:", err)
		os.Exit(1)
	}
}
