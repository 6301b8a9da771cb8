// Command crashstream is the single binary of the crashstream pipeline: one
// subcommand per service (collector, processor, sinks, webapp, cron), "all"
// to run every service in one process, and the tool subcommands (minidump,
// stackwalk, signature, crashgen, token, migrate).
//
// main only wires: each subcommand lives in its own file of this package and
// delegates to the package that implements it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string
	// run executes the subcommand. It returns a non-nil error to exit 1;
	// errUsage exits 2 after the error was already printed.
	run func(ctx context.Context, args []string, env cmdEnv) error
}

// cmdEnv is what a subcommand may touch of the process: its streams and
// environment, so that subcommands stay testable.
type cmdEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// errUsage reports a usage error that was already printed.
var errUsage = errors.New("usage")

func commands() []command {
	cmds := []command{
		allCommand(),
		serviceCommand(&collectorService{}),
		serviceCommand(&processorService{}),
		serviceCommand(&sinkClickHouseService{}),
		serviceCommand(&sinkObjectStoreService{}),
		serviceCommand(&sinkTelemetryService{}),
		serviceCommand(&webappService{}),
		cronCommand(),
		minidumpCommand(),
		stackwalkCommand(),
		signatureCommand(),
		crashgenCommand(),
		tokenCommand(),
		migrateCommand(),
		versionCommand(),
	}
	return cmds
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "crashstream: a crash-report pipeline (collector, processor, sinks, Crash Stats)\n\n")
	fmt.Fprintf(w, "Usage: crashstream <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-17s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'crashstream <command> --help' for the flags of a command.\n")
	fmt.Fprintf(w, "Every flag can also be set by environment: -kafka.brokers -> CRASHSTREAM_KAFKA_BROKERS.\n")
}

func main() {
	os.Exit(run(os.Args[1:], cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}

// run dispatches to a subcommand and turns its result into an exit code.
func run(args []string, env cmdEnv) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:], env)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(env.stderr, "crashstream %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(env.stderr, "crashstream: unknown command %q\n\n", args[0])
	usage(env.stderr)
	return 2
}
