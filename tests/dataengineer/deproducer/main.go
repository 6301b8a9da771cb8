// Command deproducer is the Go half of the data engineer test: it writes
// processed crashes to crash.processed.v1 the way the processor does
// (Confluent-framed Avro through streams and the static registry), serves
// the read-only schema registry API for them, writes a manifest of what it
// produced for the Python consumer to check, and waits until stdin closes.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/schemas/schematest"
	"github.com/crashstream/crashstream/streams"
)

// expected is what the consumer must decode for one record.
type expected struct {
	CrashID         string   `json:"crash_id"`
	Product         string   `json:"product"`
	Version         string   `json:"version"`
	ReleaseChannel  string   `json:"release_channel"`
	Signature       string   `json:"signature"`
	Build           *int64   `json:"build"`
	DateProcessedUS int64    `json:"date_processed_us"`
	Uptime          *int64   `json:"uptime"`
	StartupCrash    *bool    `json:"startup_crash"`
	InstallTime     *int64   `json:"install_time"`
	UserComments    string   `json:"user_comments"`
	Modules         int      `json:"modules"`
	FirstModule     string   `json:"first_module"`
	Frames          int      `json:"frames"`
	FirstFunction   string   `json:"first_function"`
	FirstLine       *int64   `json:"first_line"`
	JSONDumpBytes   int      `json:"json_dump_bytes"`
	Addons          []string `json:"addons"`
}

type manifest struct {
	Brokers           string     `json:"brokers"`
	Topic             string     `json:"topic"`
	TelemetryTopic    string     `json:"telemetry_topic"`
	RegistryURL       string     `json:"registry_url"`
	SchemaID          uint32     `json:"schema_id"`
	TelemetrySchemaID uint32     `json:"telemetry_schema_id"`
	Records           []expected `json:"records"`
}

func main() {
	if err := run(os.Args[1:], os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "deproducer:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader) error {
	var (
		cfg    streams.Config
		n      int
		out    string
		listen string
	)
	fs := flag.NewFlagSet("deproducer", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	fs.IntVar(&n, "n", 25, "records to produce")
	fs.StringVar(&out, "manifest", "", "where to write the manifest JSON")
	fs.StringVar(&listen, "listen", "127.0.0.1:0", "registry API listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx := context.Background()
	static, err := registry.NewStatic()
	if err != nil {
		return err
	}
	serde, err := registry.NewSerde(ctx, static)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.NewHandler(static), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	topic, telemetry := cfg.Topics().Processed, cfg.Topics().Telemetry
	if err := streams.EnsureTopics(ctx, cfg, topic, telemetry); err != nil {
		return err
	}
	p, err := streams.NewProducer(cfg, streams.Options{Logger: zerolog.New(os.Stderr).Level(zerolog.WarnLevel)})
	if err != nil {
		return err
	}
	m := manifest{Brokers: strings.Join(cfg.Brokers, ","), Topic: topic, TelemetryTopic: telemetry,
		RegistryURL: "http://" + ln.Addr().String()}
	for i := range n {
		pc := schematest.ProcessedCrash(i, schematest.Small())
		it := int64(1700000000 + i)
		pc.InstallTime = &it
		v, err := serde.Marshal(pc)
		if err != nil {
			return err
		}
		m.SchemaID = serde.ID(pc)
		if err := p.Send(ctx, topic, []byte(pc.CrashID), v); err != nil {
			return err
		}
		tc := pc.Telemetry()
		tv, err := serde.Marshal(tc)
		if err != nil {
			return err
		}
		m.TelemetrySchemaID = serde.ID(tc)
		if err := p.Send(ctx, telemetry, []byte(tc.CrashID), tv); err != nil {
			return err
		}
		m.Records = append(m.Records, expected{
			CrashID: pc.CrashID, Product: pc.Product, Version: pc.Version, ReleaseChannel: pc.ReleaseChannel,
			Signature: pc.Signature, Build: pc.Build, DateProcessedUS: pc.DateProcessed.UnixMicro(),
			Uptime: pc.Uptime, StartupCrash: pc.StartupCrash, InstallTime: pc.InstallTime, UserComments: pc.UserComments,
			Modules: len(pc.Modules), FirstModule: pc.Modules[0].Filename,
			Frames: len(pc.CrashingThreadFrames), FirstFunction: pc.CrashingThreadFrames[0].Function,
			FirstLine: pc.CrashingThreadFrames[0].Line, JSONDumpBytes: len(pc.JSONDump), Addons: pc.Addons,
		})
	}
	if err := p.Close(ctx); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out+".tmp", b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(out+".tmp", out); err != nil { // the reader polls for it
		return err
	}
	_, _ = io.Copy(io.Discard, stdin) // serve the registry until stdin closes
	return nil
}
