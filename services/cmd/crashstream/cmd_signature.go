package main

import "context"

func signatureCommand() command {
	return command{
		name:    "signature",
		summary: "generate a crash signature from crash_data JSON (siggen signify)",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("signature")
		},
	}
}
