package main

import "context"

func collectorCommand() command {
	return command{
		name:    "collector",
		summary: "accept crash reports over HTTP (POST /submit)",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("collector")
		},
	}
}
