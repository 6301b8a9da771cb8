package main

import "context"

func crashgenCommand() command {
	return command{
		name:    "crashgen",
		summary: "generate and submit realistic crash reports",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("crashgen")
		},
	}
}
