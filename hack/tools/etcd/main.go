// Command etcd runs the etcd server for the local lab. It exists so that the lab can build etcd
// from the Go module proxy at a pinned version instead of downloading a release binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
