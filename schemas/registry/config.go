package registry

import (
	"errors"
	"flag"
	"net/http"
	"net/url"
	"time"
)

// Config selects the schema registry. With an empty URL the process uses
// the static registry of its own schemas (nothing to run); with a URL it
// registers its schemas there at start-up.
type Config struct {
	// URL of a Confluent-compatible schema registry; empty = static.
	URL string
	// Timeout bounds each registry request.
	Timeout time.Duration
}

// RegisterFlags registers schema-registry.url and schema-registry.timeout.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "schema-registry.url", "", "Confluent-compatible schema registry URL; empty uses the built-in static registry")
	fs.DurationVar(&c.Timeout, "schema-registry.timeout", 10*time.Second, "timeout of one schema registry request")
}

// Validate checks the flags.
func (c *Config) Validate() error {
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("schema-registry.url: must be an http(s) URL")
		}
	}
	if c.Timeout <= 0 {
		return errors.New("schema-registry.timeout: must be positive")
	}
	return nil
}

// New returns the registry the config selects.
func New(c Config) (Registry, error) {
	if c.URL == "" {
		return NewStatic()
	}
	return NewClient(c.URL, &http.Client{Timeout: c.Timeout})
}
