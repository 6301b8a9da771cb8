package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crashstream/crashstream/services/crashgen"
	"github.com/crashstream/crashstream/services/runtime"
	"github.com/crashstream/crashstream/storage/objectstore"
)

func crashgenCommand() command {
	return command{
		name:    "crashgen",
		summary: "generate and submit realistic crash reports",
		run:     runCrashgen,
	}
}

func runCrashgen(ctx context.Context, args []string, env cmdEnv) error {
	fs := flag.NewFlagSet("crashstream crashgen", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var s3 objectstore.Config
	s3.RegisterFlags(fs)
	url := fs.String("collector.url", "http://127.0.0.1:8000", "collector base URL (reports are POSTed to <url>/submit)")
	rate := fs.Float64("rate", 2, "reports per second, open loop (latency counted from the intended send time); 0 = as fast as possible")
	count := fs.Int("count", 0, "stop after this many reports (0 = no limit)")
	duration := fs.Duration("duration", 0, "stop after this long (0 = no limit)")
	concurrency := fs.Int("concurrency", 16, "requests in flight at most")
	seed := fs.Uint64("seed", 1, "seed of the catalogue and the crash sequence")
	sites := fs.Int("sites", 300, "distinct crash sites")
	zipf := fs.Float64("zipf", 1.1, "Zipf exponent of crash-site popularity (> 1)")
	sizeScale := fs.Float64("size-scale", 1, "scale of the dump size mix (1 = median ~400 KB, p95 ~1.5 MB, 1% 4-20 MB)")
	upload := fs.Bool("upload-symbols", false, "upload the generated symbols to the symbols bucket first")
	out := fs.String("out", "", "write reports (dump + annotations JSON) and symbols under this directory instead of submitting")
	progress := fs.Duration("progress", 5*time.Second, "interval of the progress line (0 = none)")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "Usage: crashstream crashgen [flags]\n\nGenerates Breakpad crash reports whose stacks walk with the generated symbols, and submits them.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := runtime.ParseFlags(fs, args, env.getenv); err != nil {
		return err
	}
	switch {
	case *sites < 2:
		return errors.New("-sites: need at least 2")
	case *zipf <= 1:
		return errors.New("-zipf: must be greater than 1")
	case *rate < 0:
		return errors.New("-rate: must not be negative")
	case *sizeScale <= 0:
		return errors.New("-size-scale: must be positive")
	}
	cat := crashgen.NewCatalog(*seed, *sites, *zipf)
	gen := crashgen.NewGenerator(cat, *seed)
	gen.SizeScale = *sizeScale

	if *out != "" {
		return writeCorpus(cat, gen, *out, max(*count, 1), env)
	}
	if *upload {
		if err := s3.Validate(); err != nil {
			return err
		}
		if err := uploadSymbols(ctx, cat, s3); err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "crashgen: uploaded %d symbol files to bucket %s\n", len(cat.Modules), s3.SymbolsBucket)
	}
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency}}
	res, err := crashgen.Run(ctx, crashgen.RunConfig{
		URL: *url, Rate: *rate, Count: *count, Duration: *duration, Concurrency: *concurrency,
		Progress: env.stderr, ProgressEvery: *progress,
	}, gen.Next, client)
	if err != nil {
		return err
	}
	fmt.Fprint(env.stdout, res.Summary())
	if res.Accepted == 0 && res.Sent > 0 {
		return fmt.Errorf("no report was accepted by %s", *url)
	}
	return nil
}

// uploadSymbols puts every generated module's .sym into the symbols bucket.
func uploadSymbols(ctx context.Context, cat *crashgen.Catalog, cfg objectstore.Config) error {
	c, err := objectstore.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	b := c.Bucket(cfg.SymbolsBucket)
	if err := b.Ensure(ctx); err != nil {
		return err
	}
	for i := range cat.Modules {
		m := &cat.Modules[i]
		if err := b.PutBytes(ctx, m.SymKey(), []byte(m.SymFile("windows")), "text/plain"); err != nil {
			return err
		}
	}
	return nil
}

// writeCorpus writes n reports and the symbols under dir, for benchmarks
// that feed the same dumps to crashstream and to reference tools.
func writeCorpus(cat *crashgen.Catalog, gen *crashgen.Generator, dir string, n int, env cmdEnv) error {
	for i := range cat.Modules {
		m := &cat.Modules[i]
		p := filepath.Join(dir, "symbols", filepath.FromSlash(m.SymKey()))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(m.SymFile("windows")), 0o644); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "dumps"), 0o755); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		r := gen.Next()
		base := filepath.Join(dir, "dumps", fmt.Sprintf("crash-%05d", i))
		if err := os.WriteFile(base+".dmp", r.Dump, 0o644); err != nil {
			return err
		}
		ann, _ := json.MarshalIndent(r.Annotations, "", "  ")
		if err := os.WriteFile(base+".json", ann, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.stdout, "wrote %d reports to %s and %d symbol files to %s\n", n, filepath.Join(dir, "dumps"),
		len(cat.Modules), strings.TrimSuffix(filepath.Join(dir, "symbols"), "/"))
	return nil
}
