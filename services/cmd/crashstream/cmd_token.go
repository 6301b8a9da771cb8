package main

import "context"

func tokenCommand() command {
	return command{
		name:    "token",
		summary: "create, list and revoke API tokens",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("token")
		},
	}
}
