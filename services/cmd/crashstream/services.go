package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/runtime"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
)

// service is one long-running crashstream service as the binary wires it.
// Each service file (cmd_<name>.go) implements it; runServices runs one
// service alone, or all of them in one process (crashstream all).
//
// Every service has the same shape: it names itself and its own flags,
// and builds a runtime.Service from the shared clients; the Process runs
// it and shuts it down (readiness off, drain, close in reverse order).
//
// A service registers only its own flags (prefixed with its name, or its
// libraries' prefixes such as stackwalk.*); the flags every service shares
// (log, admin, kafka, s3, schema-registry) belong to shared, registered
// once, so that `all` has no duplicates.
type service interface {
	// about names the service and its own configuration.
	about() about
	// build makes the service from the shared clients, registering its
	// closers and health checks on sh.process. It must not block.
	build(ctx context.Context, sh *shared) (runtime.Service, error)
}

// about is what the binary needs to know of a service besides building it.
type about struct {
	// name is the subcommand name.
	name string
	// summary is the subcommand's line in the usage.
	summary string
	// adminAddr is the admin server's address when run alone.
	adminAddr string
	// cfg is the service's own configuration.
	cfg configurable
}

// configurable is a configuration with flags and a check naming the flag
// at fault; every service's Config is one.
type configurable interface {
	RegisterFlags(fs *flag.FlagSet)
	Validate() error
}

// shared is the configuration common to every service and the clients
// built from it — once per process, so `crashstream all` opens one Kafka
// producer and one object-store client for every service.
type shared struct {
	log            runtime.LogConfig
	admin          runtime.AdminConfig
	kafka          streams.Config
	s3             objectstore.Config
	schemaRegistry registry.Config
	ch             clickhouse.Config

	process  *runtime.Process
	chConn   driver.Conn
	store    *objectstore.Client
	producer *streams.Producer
	serde    *registry.Serde
	topics   bool
}

func (sh *shared) registerFlags(fs *flag.FlagSet, adminAddr string) {
	sh.log.RegisterFlags(fs)
	sh.admin.RegisterFlags(fs, adminAddr)
	sh.kafka.RegisterFlags(fs)
	sh.s3.RegisterFlags(fs)
	sh.schemaRegistry.RegisterFlags(fs)
	sh.ch.RegisterFlags(fs)
}

func (sh *shared) validate() error {
	return errors.Join(sh.log.Validate(), sh.admin.Validate(), sh.kafka.Validate(), sh.s3.Validate(), sh.schemaRegistry.Validate(), sh.ch.Validate())
}

// objectStore returns the process's object store client.
func (sh *shared) objectStore() (*objectstore.Client, error) {
	if sh.store != nil {
		return sh.store, nil
	}
	c, err := objectstore.New(sh.s3)
	if err != nil {
		return nil, fmt.Errorf("object store: %w", err)
	}
	sh.store = c
	sh.process.OnClose("object store", func(context.Context) error { c.Close(); return nil })
	bucket := c.Bucket(sh.s3.Bucket)
	sh.process.Check("object store", bucket.Check)
	return c, nil
}

// clickhouse returns the process's ClickHouse connection, with the schema
// migrated (idempotent, safe when several processes start at once), so
// every service that reads or writes ClickHouse finds its tables.
func (sh *shared) clickhouse(ctx context.Context) (driver.Conn, error) {
	if sh.chConn != nil {
		return sh.chConn, nil
	}
	conn, err := clickhouse.Open(ctx, sh.ch)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	sh.process.OnClose("clickhouse", func(context.Context) error { return conn.Close() })
	sh.process.Check("clickhouse", conn.Ping)
	applied, err := clickhouse.MigrateCluster(ctx, conn, sh.ch.Database, sh.ch.Cluster)
	if err != nil {
		return nil, fmt.Errorf("clickhouse migrations: %w", err)
	}
	if len(applied) > 0 {
		sh.process.Logger.Info().Ints("versions", applied).Msg("clickhouse migrations applied")
	}
	sh.chConn = conn
	return conn, nil
}

// kafkaProducer returns the process's Kafka producer (idempotent, acks=all).
func (sh *shared) kafkaProducer() (*streams.Producer, error) {
	if sh.producer != nil {
		return sh.producer, nil
	}
	p, err := streams.NewProducer(sh.kafka, streams.Options{Logger: sh.process.Logger, Registerer: sh.process.Registry})
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	sh.producer = p
	sh.process.OnClose("kafka producer", p.Close)
	sh.process.Check("kafka", p.Ping)
	return p, nil
}

// storeAndEvents returns what a service that reads the crash store and
// publishes events needs: the object store, the producer and the serde.
func (sh *shared) storeAndEvents(ctx context.Context) (*objectstore.Client, *streams.Producer, *registry.Serde, error) {
	store, err := sh.objectStore()
	if err != nil {
		return nil, nil, nil, err
	}
	producer, err := sh.kafkaProducer()
	if err != nil {
		return nil, nil, nil, err
	}
	serde, err := sh.events(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return store, producer, serde, nil
}

// events prepares what every service that reads or writes events needs:
// the pipeline's topics exist, and the process's Avro serde (static registry
// unless -schema-registry.url is set, in which case the schemas are
// registered).
func (sh *shared) events(ctx context.Context) (*registry.Serde, error) {
	if err := sh.ensureTopics(ctx); err != nil {
		return nil, err
	}
	if sh.serde != nil {
		return sh.serde, nil
	}
	reg, err := registry.New(sh.schemaRegistry)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	s, err := registry.NewSerde(ctx, reg)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	sh.serde = s
	return s, nil
}

// ensureTopics creates the pipeline's topics once per process.
func (sh *shared) ensureTopics(ctx context.Context) error {
	if sh.topics {
		return nil
	}
	if err := streams.EnsureTopics(ctx, sh.kafka, sh.kafka.Topics().All()...); err != nil {
		return fmt.Errorf("kafka topics: %w", err)
	}
	sh.topics = true
	return nil
}

// consumers builds the consumers of a service's stages (a bad declaration
// fails start-up) as the service to run. The stages' handlers carry no
// transport: retries, dead letters, metrics and panic containment are the
// runner's.
func (sh *shared) consumers(service string, stages ...streams.Stage) (runtime.Service, error) {
	r, err := streams.NewRunner(sh.kafka, streams.Options{Logger: sh.logger(service), Registerer: sh.process.Registry}, stages...)
	if err != nil {
		return nil, err
	}
	sh.process.OnClose(service+" consumers", func(context.Context) error { r.Close(); return nil })
	return r, nil
}

// logger is the process's logger, labelled with the service's name.
func (sh *shared) logger(service string) zerolog.Logger {
	return sh.process.Logger.With().Str("service", service).Logger()
}

// runServices parses the flags of the given services, validates them, builds
// the shared clients and runs every service in one Process until ctx ends.
func runServices(ctx context.Context, cmdName string, args []string, env cmdEnv, adminAddr string, svcs ...service) error {
	sh, err := setupServices(ctx, cmdName, args, env, adminAddr, svcs...)
	if err != nil {
		return err
	}
	return sh.process.Run(ctx)
}

// setupServices does everything runServices does but run: it parses and
// validates the flags, builds the shared clients and each service, and
// adds them to sh.process. The caller runs sh.process, or calls sh.close.
func setupServices(ctx context.Context, cmdName string, args []string, env cmdEnv, adminAddr string, svcs ...service) (*shared, error) {
	fs := flag.NewFlagSet("crashstream "+cmdName, flag.ContinueOnError)
	sh := &shared{}
	sh.registerFlags(fs, adminAddr)
	for _, s := range svcs {
		s.about().cfg.RegisterFlags(fs)
	}
	usage := func() {
		fmt.Fprintf(env.stderr, "Usage: crashstream %s [flags]\n\nEvery flag can also be set by environment (-kafka.brokers -> %s).\n\nFlags:\n",
			cmdName, runtime.EnvName("kafka.brokers"))
		fs.SetOutput(env.stderr)
		fs.PrintDefaults()
	}
	// The flag package would print the whole usage on any parse error;
	// print one line naming the problem instead, and the usage on -help.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := runtime.ParseFlags(fs, args, env.getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return nil, err
		}
		fmt.Fprintf(env.stderr, "crashstream %s: %v (run 'crashstream %s -help' for the flags)\n", cmdName, err, cmdName)
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return nil, errUsage
	}
	errs := []error{sh.validate()}
	for _, s := range svcs {
		errs = append(errs, s.about().cfg.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid configuration: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	logger := runtime.NewLogger(sh.log, env.stderr).With().Str("cmd", cmdName).Logger()
	sh.process = runtime.NewProcess(sh.admin, logger)
	build := runtime.BuildInfo()
	logger.Info().Str("version", build.Version).Str("commit", build.Commit).Msg("starting")
	for _, s := range svcs {
		name := s.about().name
		svc, err := s.build(ctx, sh)
		if err != nil {
			sh.close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		sh.process.Add(name, svc)
	}
	return sh, nil
}

// close releases what setupServices opened, for callers that do not run
// the process (and after a failed start).
func (sh *shared) close() {
	ctx, cancel := context.WithTimeout(context.Background(), sh.admin.ShutdownTimeout)
	defer cancel()
	if err := sh.process.Close(ctx); err != nil {
		sh.process.Logger.Warn().Err(err).Msg("close")
	}
}

// serviceCommand makes the subcommand that runs one service alone.
func serviceCommand(s service) command {
	a := s.about()
	return command{
		name:    a.name,
		summary: a.summary,
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return runServices(ctx, a.name, args, env, a.adminAddr, s)
		},
	}
}
