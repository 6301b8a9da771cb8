package main

import "context"

func stackwalkCommand() command {
	return command{
		name:    "stackwalk",
		summary: "walk and symbolicate a minidump's stacks (minidump-stackwalk --json)",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("stackwalk")
		},
	}
}
