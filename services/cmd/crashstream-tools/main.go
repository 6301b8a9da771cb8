// Command crashstream-tools runs crashstream's tool commands, stackwalk
// and minidump, without the services: the crashstream binary links Kafka,
// S3, ClickHouse and web clients, whose start-up (package initialisation
// and the pages it touches) costs a one-shot tool more than the work
// itself. This binary links only package cli, so it starts and stays as
// small as minidump-stackwalk (BENCHMARKS.md). Installed or linked under
// the name minidump-stackwalk it behaves as that tool: every argument goes
// to stackwalk.
//
// main only wires.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/crashstream/crashstream/services/lib/stackwalk/cli"
)

func main() {
	os.Exit(run(filepath.Base(os.Args[0]), os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
}

var commands = map[string]func(context.Context, []string, cli.Env) error{
	"stackwalk": cli.Stackwalk,
	"minidump":  cli.Minidump,
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: crashstream-tools <command> [flags]\n\nCommands:\n"+
		"  stackwalk  walk and symbolicate a minidump's stacks (minidump-stackwalk --json)\n"+
		"  minidump   print a minidump's contents as JSON\n\n"+
		"Run under the name minidump-stackwalk, it is the stackwalk command.\n")
}

// run dispatches and turns the result into an exit code: 0, 1 on error, 2
// on a usage error.
func run(name string, args []string, env cli.Env) int {
	cmd := "stackwalk"
	if name != "minidump-stackwalk" {
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			usage(env.Stdout)
			if len(args) == 0 {
				return 2
			}
			return 0
		}
		cmd, args = args[0], args[1:]
	}
	f, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(env.Stderr, "crashstream-tools: unknown command %q\n\n", cmd)
		usage(env.Stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := f(ctx, args, env)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, cli.ErrUsage):
		return 2
	default:
		fmt.Fprintf(env.Stderr, "%s %s: %v\n", name, cmd, err)
		return 1
	}
}
