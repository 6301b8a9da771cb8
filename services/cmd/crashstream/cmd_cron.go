package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/cron"
	"github.com/crashstream/crashstream/services/lib/alerts"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/bugzilla"
	"github.com/crashstream/crashstream/services/runtime"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/streams"
)

// cronService runs the housekeeping jobs.
type cronService struct {
	cfg  cron.Config
	jobs cron.JobsConfig
	// runner is set by build; the CLI verbs use it without running the
	// process.
	runner *cron.Runner
}

func cronCommand() command {
	return command{
		name:    "cron",
		summary: (&cronService{}).about().summary,
		run:     runCron,
	}
}

func (s *cronService) about() about {
	return about{name: "cron", adminAddr: "127.0.0.1:9106", cfg: cronFlags{s},
		summary: "run housekeeping jobs on their schedules; or: cron list | run <job> [-force] | reset <job> | mark-success <job>"}
}

// cronFlags presents the runner's and the jobs' configuration as one.
type cronFlags struct{ s *cronService }

func (f cronFlags) RegisterFlags(fs *flag.FlagSet) { cron.RegisterFlags(fs, &f.s.cfg, &f.s.jobs) }
func (f cronFlags) Validate() error                { return cron.Validate(f.s.cfg, f.s.jobs) }

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

func (s *cronService) build(ctx context.Context, sh *shared) (runtime.Service, error) {
	store, producer, serde, err := sh.storeAndEvents(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := sh.clickhouse(ctx)
	if err != nil {
		return nil, err
	}
	reader, err := clickhouse.NewClusterReader(conn, sh.ch.Database, sh.ch.Cluster, clickhouse.DedupArgMax)
	if err != nil {
		return nil, err
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
	corr, err := clickhouse.NewCorrelator(conn, sh.ch.Database, fields.New(), clickhouse.DefaultCorrelationAnnotations)
	if err != nil {
		return nil, err
	}
	jobs = append(jobs, cron.Correlations(corr, s.jobs.CorrelationsTop, log))
	if s.jobs.Bugzilla.URL == "" {
		log.Info().Msg("bugassociations: off (no -cron.bugzilla.url)")
	} else {
		bz, err := bugzilla.NewClient(s.jobs.Bugzilla)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, cron.BugAssociations(bucket, bz, log))
	}
	if s.jobs.Alerts.Rules == "" {
		log.Info().Msg("alerts: off (no -cron.alerts.rules)")
	} else {
		rules, err := alerts.Load(s.jobs.Alerts.Rules)
		if err != nil {
			return nil, err
		}
		notifier, err := alerts.NewNotifier(s.jobs.Alerts.Notify)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, cron.Alerts(alerts.NewEvaluator(rules, reader, bucket, notifier), s.jobs.Alerts.Every, log, sh.process.Registry))
	}
	s.runner = cron.NewRunner(s.cfg, bucket, jobs, log, sh.process.Registry)
	return s.runner, nil
}

// runCron is `crashstream cron` (the service) and its CLI verbs.
func runCron(ctx context.Context, args []string, env cmdEnv) error {
	svc := &cronService{}
	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-') {
		return runServices(ctx, "cron", args, env, svc.about().adminAddr, svc)
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
