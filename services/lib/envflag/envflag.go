// Package envflag parses command-line flags with environment overrides
// (-kafka.brokers or CRASHSTREAM_KAFKA_BROKERS). It depends on the
// standard library only, so that small tool binaries can use it without
// linking the services' runtime.
//
// Entry points: Parse (a FlagSet, the arguments and a getenv) and EnvName
// (the variable that overrides a flag). Users: services/runtime (every
// service's flags) and services/lib/stackwalk/cli (crashstream-tools).
package envflag

import (
	"flag"
	"fmt"
	"strings"
)

// EnvPrefix is the prefix of the environment variables that override flags.
const EnvPrefix = "CRASHSTREAM_"

// EnvName returns the environment variable that overrides a flag:
// "kafka.brokers" -> "CRASHSTREAM_KAFKA_BROKERS".
func EnvName(flagName string) string {
	r := strings.NewReplacer(".", "_", "-", "_")
	return EnvPrefix + strings.ToUpper(r.Replace(flagName))
}

// Parse parses args into fs, then applies environment overrides to every
// flag not given on the command line, so that an operator can set
// anything either way and the command line wins. getenv is os.Getenv in
// production and a map lookup in tests.
//
// A bad value in the environment is reported with both names, because the
// operator may not know which of the two set it.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] || getenv == nil {
			return
		}
		env := EnvName(f.Name)
		v := getenv(env)
		if v == "" {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("invalid value %q for %s (flag -%s): %v", v, env, f.Name, e)
		}
	})
	return err
}

// StringList is a repeatable string flag (-symbols-path a -symbols-path b);
// from the environment it takes a comma-separated list.
type StringList []string

// String implements flag.Value.
func (s *StringList) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value; commas separate several values.
func (s *StringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}
