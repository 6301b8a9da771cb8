package runtime

import (
	"flag"

	"github.com/crashstream/crashstream/services/lib/envflag"
)

// EnvPrefix is the prefix of the environment variables that override flags.
const EnvPrefix = envflag.EnvPrefix

// EnvName returns the environment variable that overrides a flag:
// "kafka.brokers" -> "CRASHSTREAM_KAFKA_BROKERS".
func EnvName(flagName string) string { return envflag.EnvName(flagName) }

// ParseFlags parses args into fs, then applies environment overrides to
// every flag not given on the command line (see envflag.Parse, which tool
// binaries use without the rest of this package).
func ParseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	return envflag.Parse(fs, args, getenv)
}

// StringList is a repeatable string flag (-symbols-path a -symbols-path b);
// from the environment it takes a comma-separated list.
type StringList = envflag.StringList
