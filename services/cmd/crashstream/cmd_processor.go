package main

import "context"

func processorCommand() command {
	return command{
		name:    "processor",
		summary: "turn received crashes into processed crashes (Kafka consumer)",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("processor")
		},
	}
}
