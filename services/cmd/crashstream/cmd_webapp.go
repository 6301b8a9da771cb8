package main

import "context"

func webappCommand() command {
	return command{
		name:    "webapp",
		summary: "serve Crash Stats: top crashers, reports, search, API",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("webapp")
		},
	}
}
