package processor

import (
	"errors"
	"flag"
	"time"

	"github.com/crashstream/crashstream/services/lib/signature"
	"github.com/crashstream/crashstream/services/lib/stackwalk"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

// Config is the processor's own configuration; Kafka and the object store
// are configured by their packages' flags.
type Config struct {
	// Group is the consumer group of the standard and reprocessing topics.
	Group string
	// PriorityGroup is the consumer group of the priority topic.
	PriorityGroup string
	// MaxRawCrashBytes bounds the raw crash JSON read from the store.
	MaxRawCrashBytes int64
	// HangGrace is how long past the stackwalk deadline a walk may run
	// before the processor gives up on it and moves on.
	HangGrace time.Duration
	// SymbolsBucketPrefix is where symbols sit inside the symbols bucket.
	SymbolsBucketPrefix string

	Stackwalk stackwalk.Config
	Symbols   symbols.Config
	Signature signature.Config
}

// RegisterFlags adds processor.*, stackwalk.*, symbols.* and the signature
// list flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Group, "processor.group", "processor", "consumer group for crash.received and crash.reprocess")
	fs.StringVar(&c.PriorityGroup, "processor.priority-group", "processor-priority", "consumer group for crash.priority")
	fs.Int64Var(&c.MaxRawCrashBytes, "processor.max-raw-crash-bytes", 8<<20, "largest raw crash JSON read")
	fs.DurationVar(&c.HangGrace, "processor.hang-grace", 10*time.Second, "time past stackwalk.timeout after which a walk is abandoned")
	fs.StringVar(&c.SymbolsBucketPrefix, "processor.symbols-prefix", "", "key prefix of symbol files in the symbols bucket")
	c.Stackwalk.RegisterFlagsWithPrefix("stackwalk.", fs)
	c.Symbols.CacheDir = ""
	c.Symbols.RegisterFlagsWithPrefix("symbols.", fs)
	c.Signature.RegisterFlags(fs)
}

// Validate checks every part.
func (c *Config) Validate() error {
	switch {
	case c.Group == "":
		return errors.New("-processor.group: must not be empty")
	case c.PriorityGroup == "" || c.PriorityGroup == c.Group:
		return errors.New("-processor.priority-group: must be set and differ from -processor.group")
	case c.MaxRawCrashBytes <= 0:
		return errors.New("-processor.max-raw-crash-bytes: must be positive")
	case c.HangGrace <= 0:
		return errors.New("-processor.hang-grace: must be positive")
	}
	if err := c.Stackwalk.Validate(); err != nil {
		return err
	}
	if err := c.Symbols.Validate(); err != nil {
		return err
	}
	return c.Signature.Validate()
}
