// Command shardsql runs ShardSQL: `demo` runs a whole cluster in one
// process; `meta`, `shard` and `sql` run one role each.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: shardsql <command> [flags]

commands:
  demo    run a metadata member, N shard servers and a SQL frontend in one process
  meta    run a metadata service member (embedded etcd)
  shard   run a shard server
  sql     run a SQL frontend (PostgreSQL wire protocol)

Run 'shardsql <command> -h' for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "demo":
		err = runDemo(args)
	case "meta":
		err = runMeta(args)
	case "shard":
		err = runShard(args)
	case "sql":
		err = runSQL(args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "shardsql: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "shardsql %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
