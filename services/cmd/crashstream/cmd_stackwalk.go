package main

import (
	"context"
	"errors"

	"github.com/crashstream/crashstream/services/lib/stackwalk/cli"
)

// stackwalkCommand is a drop-in for `minidump-stackwalk --json` (see
// package cli, which the small crashstream-tools binary also runs).
func stackwalkCommand() command {
	return command{
		name:    "stackwalk",
		summary: "walk and symbolicate a minidump's stacks (minidump-stackwalk --json)",
		run:     toolRun(cli.Stackwalk),
	}
}

func minidumpCommand() command {
	return command{
		name:    "minidump",
		summary: "print a minidump's contents as JSON",
		run:     toolRun(cli.Minidump),
	}
}

// toolRun adapts a cli command to this binary's environment and usage error.
func toolRun(run func(context.Context, []string, cli.Env) error) func(context.Context, []string, cmdEnv) error {
	return func(ctx context.Context, args []string, env cmdEnv) error {
		err := run(ctx, args, cli.Env{Stdout: env.stdout, Stderr: env.stderr, Getenv: env.getenv})
		if errors.Is(err, cli.ErrUsage) {
			return errUsage
		}
		return err
	}
}
