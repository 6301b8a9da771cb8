package collector

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

// Config is the collector's user-facing configuration (flags collector.*).
type Config struct {
	// Addr is where POST /submit is served (Antenna's port by default).
	Addr string
	// MaxBodySize caps the request body as sent (Antenna's nginx
	// client_max_body_size 25m); over it: 413.
	MaxBodySize int64
	// MaxPayloadSize caps the body after gzip decompression, so a gzip bomb
	// costs at most this many bytes of spool before the 413.
	MaxPayloadSize int64
	// MaxAnnotationsSize caps the annotations (held in memory) of one report.
	MaxAnnotationsSize int64
	// MaxParts caps the number of multipart parts, MaxDumps the dumps.
	MaxParts int
	MaxDumps int
	// SpoolMemory is how many dump bytes one request keeps in memory before
	// spilling to SpoolDir: memory per request is bounded by SpoolMemory +
	// MaxAnnotationsSize + small buffers, whatever the report size.
	SpoolMemory int64
	// SpoolMemoryTotal bounds the in-memory spool of all requests together.
	SpoolMemoryTotal int64
	// SpoolDir holds spilled dumps ("" = the OS temp dir).
	SpoolDir string
	// MaxInFlight bounds concurrent submissions; past it: 503 + Retry-After.
	MaxInFlight int
	// RetryAfter is the Retry-After given with every 503.
	RetryAfter time.Duration
	// ReadTimeout is the longest wait for the next body bytes (slow or
	// stalled clients get 408).
	ReadTimeout time.Duration
	// BodyTimeout bounds reading one whole body, however steadily it
	// trickles; MinRate is the slowest average a body may arrive at once
	// RateGrace has passed (it is checked as a deadline: by
	// start+RateGrace+received/MinRate the next bytes must be in). 408 for
	// all three.
	BodyTimeout time.Duration
	MinRate     int64
	RateGrace   time.Duration
	// EvictBelow: when every in-flight slot is taken, a new request evicts
	// the slowest body still being read if it arrives slower than this
	// (bytes/s, measured after EvictMinAge); the evicted request gets 408.
	// AdmitWait bounds how long the newcomer waits for that slot.
	EvictBelow  int64
	EvictMinAge time.Duration
	AdmitWait   time.Duration
	// StoreLatencyTarget is the time storing and announcing one report
	// should take (plus its bytes at 64 MiB/s); the number of reports stored
	// at once adapts to it, from StoreLimitMin up to MaxInFlight, and the
	// reports past it are shed with 503 + Retry-After (storelimit.go).
	StoreLatencyTarget time.Duration
	StoreLimitMin      int
	// AnnotationMemoryTotal bounds the annotation bytes all requests hold
	// in memory together; a request that would pass it gets 503.
	AnnotationMemoryTotal int64
	// RulesFile is the throttle rules file (YAML or JSON); "" accepts all.
	RulesFile string
	// SubmitterToken, when set, lets a client that sends
	// "Authorization: Bearer <token>" choose the crash id (uuid annotation).
	SubmitterToken string
	// Store* bound the object store writes of one report: each object gets
	// StoreAttempts tries, each bounded by StoreTimeout, with exponential
	// backoff from StoreBackoff between tries.
	StoreAttempts int
	StoreTimeout  time.Duration
	StoreBackoff  time.Duration
	// PublishTimeout bounds the in-request publish of crash.received; after
	// it the report is still acknowledged and retried in the background.
	PublishTimeout time.Duration
	// RepublishQueue is how many failed publishes wait for a background
	// retry; beyond it they are dropped and counted (verify-processed
	// finds the stored crash).
	RepublishQueue int
}

// RegisterFlags adds the collector.* flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "collector.addr", "127.0.0.1:8000", "listen address of POST /submit")
	fs.Int64Var(&c.MaxBodySize, "collector.max-body-size", 25<<20, "max request body in bytes as sent (413 above)")
	fs.Int64Var(&c.MaxPayloadSize, "collector.max-payload-size", 100<<20, "max body in bytes after gzip decompression (413 above)")
	fs.Int64Var(&c.MaxAnnotationsSize, "collector.max-annotations-size", 4<<20, "max total bytes of annotations in one report (413 above)")
	fs.IntVar(&c.MaxParts, "collector.max-parts", 512, "max multipart parts in one report (413 above)")
	fs.IntVar(&c.MaxDumps, "collector.max-dumps", 32, "max dumps in one report (413 above)")
	fs.Int64Var(&c.SpoolMemory, "collector.spool-memory", 2<<20, "dump bytes a request keeps in memory before spilling to disk")
	fs.Int64Var(&c.SpoolMemoryTotal, "collector.spool-memory-total", 128<<20, "dump bytes all requests together keep in memory before spilling to disk")
	fs.StringVar(&c.SpoolDir, "collector.spool-dir", "", "directory for spilled dumps (default: the OS temp dir)")
	fs.IntVar(&c.MaxInFlight, "collector.max-in-flight", 128, "max concurrent submissions (503 + Retry-After above)")
	fs.DurationVar(&c.RetryAfter, "collector.retry-after", 30*time.Second, "Retry-After sent with 503 answers")
	fs.DurationVar(&c.ReadTimeout, "collector.read-timeout", 30*time.Second, "max wait for the next bytes of a request body (408 after)")
	fs.DurationVar(&c.BodyTimeout, "collector.body-timeout", 5*time.Minute, "max time to read one whole request body (408 after)")
	fs.Int64Var(&c.MinRate, "collector.min-rate", 4<<10, "slowest average body rate in bytes/s accepted after -collector.rate-grace (408 below)")
	fs.DurationVar(&c.RateGrace, "collector.rate-grace", 10*time.Second, "time a body may take before -collector.min-rate applies")
	fs.Int64Var(&c.EvictBelow, "collector.evict-below", 4<<10, "when all slots are taken, a new request evicts the slowest body reader slower than this many bytes/s")
	fs.DurationVar(&c.EvictMinAge, "collector.evict-min-age", 500*time.Millisecond, "a body reader is measured for eviction only after this long")
	fs.DurationVar(&c.AdmitWait, "collector.admit-wait", 2*time.Second, "max wait of a new request for the slot of an evicted one")
	fs.DurationVar(&c.StoreLatencyTarget, "collector.store-latency-target", 0, "target time to store and announce one report (plus its bytes at 64 MiB/s), held at the p90: reports stored at once adapt to it, the excess gets 503 + Retry-After; 0 (the default) keeps the limit at collector.max-in-flight")
	fs.IntVar(&c.StoreLimitMin, "collector.store-limit-min", 16, "reports stored at once never limited below this")
	fs.Int64Var(&c.AnnotationMemoryTotal, "collector.annotation-memory-total", 64<<20, "annotation bytes all requests together may hold in memory (503 above)")
	fs.StringVar(&c.RulesFile, "collector.throttle-rules", "", "throttle rules file, YAML or JSON (default: accept everything)")
	fs.StringVar(&c.SubmitterToken, "collector.submitter-token", "", "bearer token allowing a client to set the crash id (uuid annotation); empty disables")
	fs.IntVar(&c.StoreAttempts, "collector.store-attempts", 3, "attempts at each object store write before answering 503")
	fs.DurationVar(&c.StoreTimeout, "collector.store-timeout", 10*time.Second, "bound on one object store write")
	fs.DurationVar(&c.StoreBackoff, "collector.store-backoff", 200*time.Millisecond, "first wait between object store attempts (doubles)")
	fs.DurationVar(&c.PublishTimeout, "collector.publish-timeout", 5*time.Second, "bound on publishing crash.received before answering (then retried in background)")
	fs.IntVar(&c.RepublishQueue, "collector.republish-queue", 10000, "max failed publishes queued for background retry")
}

// DefaultConfig is the configuration the flags default to, for tests and
// embedding.
func DefaultConfig() Config {
	var c Config
	fs := flag.NewFlagSet("defaults", flag.ContinueOnError)
	c.RegisterFlags(fs)
	return c
}

// Validate checks the configuration and names the flag at fault.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("-collector.addr: %q is not host:port", c.Addr)
	}
	pos := []struct {
		flag string
		v    int64
	}{
		{"-collector.max-body-size", c.MaxBodySize},
		{"-collector.max-payload-size", c.MaxPayloadSize},
		{"-collector.max-annotations-size", c.MaxAnnotationsSize},
		{"-collector.max-parts", int64(c.MaxParts)},
		{"-collector.max-dumps", int64(c.MaxDumps)},
		{"-collector.spool-memory", c.SpoolMemory},
		{"-collector.spool-memory-total", c.SpoolMemoryTotal},
		{"-collector.max-in-flight", int64(c.MaxInFlight)},
		{"-collector.retry-after", int64(c.RetryAfter)},
		{"-collector.read-timeout", int64(c.ReadTimeout)},
		{"-collector.body-timeout", int64(c.BodyTimeout)},
		{"-collector.min-rate", c.MinRate},
		{"-collector.rate-grace", int64(c.RateGrace)},
		{"-collector.evict-below", c.EvictBelow},
		{"-collector.evict-min-age", int64(c.EvictMinAge)},
		{"-collector.admit-wait", int64(c.AdmitWait)},
		{"-collector.annotation-memory-total", c.AnnotationMemoryTotal},
		{"-collector.store-limit-min", int64(c.StoreLimitMin)},
		{"-collector.store-attempts", int64(c.StoreAttempts)},
		{"-collector.store-timeout", int64(c.StoreTimeout)},
		{"-collector.publish-timeout", int64(c.PublishTimeout)},
		{"-collector.republish-queue", int64(c.RepublishQueue)},
	}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("%s: must be positive, got %d", p.flag, p.v)
		}
	}
	if c.StoreLatencyTarget < 0 {
		return errors.New("-collector.store-latency-target: must not be negative (0 turns the limit off)")
	}
	if c.StoreBackoff < 0 {
		return errors.New("-collector.store-backoff: must not be negative")
	}
	if c.AnnotationMemoryTotal < c.MaxAnnotationsSize {
		return errors.New("-collector.annotation-memory-total: must be at least -collector.max-annotations-size")
	}
	if c.MaxAnnotationsSize > c.MaxPayloadSize {
		return errors.New("-collector.max-annotations-size: must not exceed -collector.max-payload-size")
	}
	if c.SpoolDir != "" {
		if st, err := os.Stat(c.SpoolDir); err != nil || !st.IsDir() {
			return fmt.Errorf("-collector.spool-dir: %q is not a directory", c.SpoolDir)
		}
	}
	if c.RulesFile != "" {
		if _, err := LoadRules(c.RulesFile); err != nil {
			return fmt.Errorf("-collector.throttle-rules: %w", err)
		}
	}
	if c.SubmitterToken != "" && len(c.SubmitterToken) < 16 {
		return errors.New("-collector.submitter-token: must be at least 16 characters")
	}
	return nil
}
