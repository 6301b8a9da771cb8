package main

import (
	"context"
	"fmt"

	"github.com/crashstream/crashstream/services/runtime"
)

func versionCommand() command {
	return command{
		name:    "version",
		summary: "print the version and commit",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			v := runtime.BuildInfo()
			fmt.Fprintf(env.stdout, "crashstream %s (commit %s)\n", v.Version, v.Commit)
			return nil
		},
	}
}
