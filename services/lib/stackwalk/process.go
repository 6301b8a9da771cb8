package stackwalk

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// Config bounds the processing of one dump when the processor runs the
// walker as a library.
type Config struct {
	// Timeout is the per-dump deadline (Socorro gives minidump-stackwalk 2m).
	Timeout time.Duration
	// MaxDumpBytes rejects larger dumps before reading them into memory.
	MaxDumpBytes int64
	// MaxFrames bounds the frames kept for all threads of one dump.
	MaxFrames int
	// MaxSymbolBytes bounds the parsed symbols one dump may use (0 =
	// unbounded); see Options.MaxSymbolBytes.
	MaxSymbolBytes int64
}

// RegisterFlagsWithPrefix registers the flags (prefix usually "stackwalk.").
func (c *Config) RegisterFlagsWithPrefix(prefix string, fs *flag.FlagSet) {
	fs.DurationVar(&c.Timeout, prefix+"timeout", 2*time.Minute, "deadline for walking one dump")
	fs.Int64Var(&c.MaxDumpBytes, prefix+"max-dump-bytes", 512<<20, "largest dump accepted")
	fs.IntVar(&c.MaxFrames, prefix+"max-frames", 1<<20, "most frames kept for one dump (bounds memory)")
	fs.Int64Var(&c.MaxSymbolBytes, prefix+"max-symbol-bytes", 4<<30, "most parsed symbol bytes one dump may use (0: unbounded)")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch {
	case c.Timeout <= 0:
		return errors.New("stackwalk.timeout: must be positive")
	case c.MaxDumpBytes <= 0 || c.MaxDumpBytes > minidump.MaxSize:
		return fmt.Errorf("stackwalk.max-dump-bytes: must be in 1..%d", int64(minidump.MaxSize))
	case c.MaxFrames <= 0:
		return errors.New("stackwalk.max-frames: must be positive")
	case c.MaxSymbolBytes < 0:
		return errors.New("stackwalk.max-symbol-bytes: must not be negative")
	}
	return nil
}

// Stackwalker is the processor's entry point: one shared symbol supplier,
// many dumps, each under its own deadline and bounds. Safe for concurrent use.
type Stackwalker struct {
	cfg  Config
	syms Symbolizer
}

// New returns a Stackwalker.
func New(cfg Config, syms Symbolizer) *Stackwalker {
	return &Stackwalker{cfg: cfg, syms: syms}
}

// ErrDumpTooLarge rejects a dump over Config.MaxDumpBytes.
var ErrDumpTooLarge = errors.New("stackwalk: dump too large")

// Process parses and walks one dump held in memory. A walk cut short by the
// deadline still returns what it found, with Result.Incomplete set; only an
// unreadable dump is an error.
func (s *Stackwalker) Process(ctx context.Context, dump []byte) (*Result, error) {
	if s.cfg.MaxDumpBytes > 0 && int64(len(dump)) > s.cfg.MaxDumpBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrDumpTooLarge, len(dump))
	}
	d, err := minidump.Parse(dump)
	if err != nil {
		return nil, err
	}
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
	}
	return Walk(ctx, d, s.syms, Options{MaxFrames: s.cfg.MaxFrames, MaxSymbolBytes: s.cfg.MaxSymbolBytes})
}
