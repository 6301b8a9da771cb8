package main

import "context"

func allCommand() command {
	return command{
		name:    "all",
		summary: "run every service in one process",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("all")
		},
	}
}
