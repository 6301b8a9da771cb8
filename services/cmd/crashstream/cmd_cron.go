package main

import "context"

func cronCommand() command {
	return command{
		name:    "cron",
		summary: "run housekeeping jobs on their schedules",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("cron")
		},
	}
}
