package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/crashstream/crashstream/services/runtime"
	"github.com/crashstream/crashstream/storage/clickhouse"
)

// migrateCommand applies the ClickHouse migrations and says which ran.
// The sinks apply them at start-up too; this is for operators and CI.
func migrateCommand() command {
	return command{
		name:    "migrate",
		summary: "apply ClickHouse schema migrations",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			fs := flag.NewFlagSet("crashstream migrate", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var cfg clickhouse.Config
			cfg.RegisterFlags(fs)
			if err := runtime.ParseFlags(fs, args, env.getenv); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					fmt.Fprintf(env.stderr, "Usage: crashstream migrate [flags]\n\nFlags:\n")
					fs.SetOutput(env.stderr)
					fs.PrintDefaults()
					return err
				}
				fmt.Fprintf(env.stderr, "crashstream migrate: %v\n", err)
				return errUsage
			}
			if fs.NArg() > 0 {
				fmt.Fprintf(env.stderr, "crashstream migrate: unexpected arguments %v\n", fs.Args())
				return errUsage
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			conn, err := clickhouse.Open(ctx, cfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			applied, err := clickhouse.MigrateCluster(ctx, conn, cfg.Database, cfg.Cluster)
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintf(env.stdout, "database %s is up to date\n", cfg.Database)
				return nil
			}
			fmt.Fprintf(env.stdout, "database %s: applied migrations %v\n", cfg.Database, applied)
			return nil
		},
	}
}
