package main

import "context"

func minidumpCommand() command {
	return command{
		name:    "minidump",
		summary: "print a minidump's contents as JSON",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("minidump")
		},
	}
}
