package main

import "context"

func migrateCommand() command {
	return command{
		name:    "migrate",
		summary: "apply ClickHouse schema migrations",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("migrate")
		},
	}
}
