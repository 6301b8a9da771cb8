package runtime

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// LogConfig selects the log level and format.
type LogConfig struct {
	// Level is a zerolog level name: debug, info, warn, error.
	Level string
	// Format is json, console, or auto (console on a terminal, else json).
	Format string
}

// RegisterFlags adds -log.level and -log.format.
func (c *LogConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Level, "log.level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.Format, "log.format", "auto", "log format: json, console, or auto (console on a terminal)")
}

// Validate reports an unknown level or format.
func (c LogConfig) Validate() error {
	if _, err := zerolog.ParseLevel(c.Level); err != nil || c.Level == "" {
		return fmt.Errorf("-log.level: unknown level %q (want debug, info, warn or error)", c.Level)
	}
	switch c.Format {
	case "json", "console", "auto":
		return nil
	}
	return fmt.Errorf("-log.format: unknown format %q (want json, console or auto)", c.Format)
}

// NewLogger builds the process logger writing to w. Services receive it by
// injection; there is no global logger.
func NewLogger(c LogConfig, w io.Writer) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(c.Level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	if c.Format == "console" || (c.Format == "auto" && isTerminal(w)) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
