package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/cron"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/bugzilla"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/streams"
)

// cronService runs the housekeeping jobs.
type cronService struct {
	cfg  cron.Config
	jobs cron.JobsConfig
	// runner is set by start; the CLI verbs use it after a start without loops.
	runner *cron.Runner
	// cli, when set, makes start build the runner without running it.
	cli bool
}

func cronCommand() command {
	return command{
		name:    "cron",
		summary: "run housekeeping jobs on their schedules; or: cron list | run <job> [-force] | reset <job> | mark-success <job>",
		run:     runCron,
	}
}

func (s *cronService) name() string             { return "cron" }
func (s *cronService) defaultAdminAddr() string { return "127.0.0.1:9106" }
func (s *cronService) registerFlags(fs *flag.FlagSet) {
	cron.RegisterFlags(fs, &s.cfg, &s.jobs)
}
func (s *cronService) validate() error { return cron.Validate(s.cfg, s.jobs) }

// requeuer publishes reprocessing requests for verify-processed.
type requeuer struct {
	producer *streams.Producer
	serde    *registry.Serde
	topic    string
}

func (q requeuer) Requeue(ctx context.Context, crashID, reason string) error {
	v, err := q.serde.Marshal(&schemas.ProcessRequest{CrashID: crashID, Reason: reason, Ruleset: protocol.RulesetDefault,
		RequestedAt: time.Now().UTC(), RequestedBy: "cron"})
	if err != nil {
		return err
	}
	return q.producer.Send(ctx, q.topic, []byte(crashID), v)
}

func (s *cronService) start(ctx context.Context, sh *shared) error {
	store, err := sh.objectStore()
	if err != nil {
		return err
	}
	producer, err := sh.kafkaProducer()
	if err != nil {
		return err
	}
	serde, err := sh.events(ctx)
	if err != nil {
		return err
	}
	conn, err := sh.clickhouse(ctx)
	if err != nil {
		return err
	}
	reader, err := clickhouse.NewClusterReader(conn, sh.ch.Database, sh.ch.Cluster, clickhouse.DedupArgMax)
	if err != nil {
		return err
	}
	bucket := store.Bucket(sh.s3.Bucket)
	log := sh.logger("cron")
	jobs := []cron.Job{
		cron.VerifyProcessed(bucket, requeuer{producer, serde, sh.kafka.Topics().Reprocess}, log),
		cron.Retention(bucket, store.Bucket(sh.s3.TelemetryBucket), reader, time.Duration(s.jobs.RetentionDays)*24*time.Hour, s.jobs.RetentionLookback, log),
		cron.DumpRetention(bucket, time.Duration(s.jobs.DumpRetentionDays)*24*time.Hour, s.jobs.RetentionLookback, log),
		cron.Compact(reader),
		cron.Versions(bucket, cron.ClickHouseVersions{Conn: conn, Database: sh.ch.Database}),
		cron.MissingSymbols(bucket, s.jobs.MissingSymbolsSample),
		cron.Tokens(auth.NewStore(auth.BucketBlobs(bucket)), log),
	}
	if s.jobs.Bugzilla.URL == "" {
		log.Info().Msg("bugassociations: off (no -cron.bugzilla.url)")
	} else {
		bz, err := bugzilla.NewClient(s.jobs.Bugzilla)
		if err != nil {
			return err
		}
		jobs = append(jobs, cron.BugAssociations(bucket, bz, log))
	}
	s.runner = cron.NewRunner(s.cfg, bucket, jobs, log, sh.process.Registry)
	if !s.cli {
		sh.process.Go("cron", s.runner.Run)
	}
	return nil
}

// runCron is `crashstream cron` (the service) and its CLI verbs.
func runCron(ctx context.Context, args []string, env cmdEnv) error {
	svc := &cronService{}
	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-') {
		return runServices(ctx, "cron", args, env, svc.defaultAdminAddr(), svc)
	}
	verb, rest := args[0], args[1:]
	var target string
	force := false
	switch verb {
	case "list":
	case "run", "reset", "mark-success":
		if len(rest) == 0 || rest[0] == "" || rest[0][0] == '-' {
			fmt.Fprintf(env.stderr, "usage: crashstream cron %s <job> [flags]\n", verb)
			return errUsage
		}
		target, rest = rest[0], rest[1:]
		if verb == "run" && len(rest) > 0 && (rest[0] == "-force" || rest[0] == "--force") {
			force, rest = true, rest[1:]
		}
	default:
		fmt.Fprintf(env.stderr, "crashstream cron: unknown verb %q (list, run, reset, mark-success)\n", verb)
		return errUsage
	}
	svc.cli = true
	// Build the runner with the service's wiring, run the verb, and close.
	sh, err := setupServices(ctx, "cron "+verb, rest, env, "", svc)
	if err != nil {
		return err
	}
	defer sh.close()
	r := svc.runner
	switch verb {
	case "list":
		lines, err := r.Describe(ctx)
		if err != nil {
			return err
		}
		for _, l := range lines {
			fmt.Fprintln(env.stdout, l)
		}
		return nil
	case "run":
		err := r.RunJob(ctx, target, force)
		if errors.Is(err, cron.ErrLocked) {
			return fmt.Errorf("%s: %w", target, err)
		}
		if err != nil {
			return err
		}
		st, _ := r.State(ctx, target)
		fmt.Fprintf(env.stdout, "%s: last success %s\n", target, st.LastSuccess.Format(time.RFC3339))
		return nil
	case "reset":
		return r.Reset(ctx, target)
	default:
		return r.MarkSuccess(ctx, target)
	}
}
