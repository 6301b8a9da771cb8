package cron

import (
	"errors"
	"flag"
	"net/url"
	"time"

	"github.com/crashstream/crashstream/services/lib/bugzilla"
	"github.com/crashstream/crashstream/services/runtime"
)

// JobsConfig holds the jobs' settings.
type JobsConfig struct {
	// RetentionDays is how long crash reports are kept.
	RetentionDays int
	// DumpRetentionDays is how long dumps are kept (shorter: they hold
	// memory contents).
	DumpRetentionDays int
	// RetentionLookback is how many days before the cutoff each
	// retention run sweeps again.
	RetentionLookback int
	// MissingSymbolsSample bounds the crashes the report reads per day.
	MissingSymbolsSample int
	// CorrelationsTop is how many signatures per product (and per product
	// and channel) the correlations job precomputes.
	CorrelationsTop int
	// Bugzilla is where bugassociations reads bugs; with no URL the job
	// is off.
	Bugzilla bugzilla.Config
	// Alerts is the alerts job's; with no rules file the job is off.
	Alerts AlertsConfig
}

// RegisterFlags adds the cron.* flags of the runner and the jobs.
func RegisterFlags(fs *flag.FlagSet, c *Config, j *JobsConfig) {
	fs.DurationVar(&c.Tick, "cron.tick", time.Minute, "how often the runner looks for due jobs")
	fs.DurationVar(&c.LeaseTTL, "cron.lease-ttl", 10*time.Minute, "job lease lifetime without renewal (a dead runner's jobs wait this long)")
	fs.DurationVar(&c.RetryBackoff, "cron.retry-backoff", time.Minute, "first wait after a failed run (doubles, up to the job's period)")
	fs.IntVar(&c.MaxBackfill, "cron.max-backfill", 60, "most missed periods one tick runs")
	fs.IntVar(&j.RetentionDays, "cron.retention-days", 180, "days crash reports are kept")
	fs.IntVar(&j.DumpRetentionDays, "cron.dump-retention-days", 30, "days dumps are kept (at most cron.retention-days)")
	fs.IntVar(&j.RetentionLookback, "cron.retention-lookback-days", 30, "days before each retention cutoff swept again (catches up after outages)")
	fs.IntVar(&j.MissingSymbolsSample, "cron.missing-symbols-sample", 2000, "crashes read per day for the missing-symbols report")
	fs.IntVar(&j.CorrelationsTop, "cron.correlations.top", 50, "signatures per product (and per product and channel) whose correlations are precomputed daily")
	d := bugzilla.DefaultConfig()
	fs.StringVar(&j.Bugzilla.URL, "cron.bugzilla.url", "", "Bugzilla base URL for bugassociations (its REST API is under /rest/); empty: the job is off")
	fs.StringVar(&j.Bugzilla.APIKey, "cron.bugzilla.api-key", "", "Bugzilla API key (X-BUGZILLA-API-KEY); optional")
	fs.Var((*runtime.StringList)(&j.Bugzilla.Products), "cron.bugzilla.products", "comma-separated Bugzilla products whose bugs are read (empty: all)")
	fs.IntVar(&j.Bugzilla.PageSize, "cron.bugzilla.page-size", d.PageSize, "bugs per Bugzilla search request")
	fs.DurationVar(&j.Bugzilla.Timeout, "cron.bugzilla.timeout", d.Timeout, "bound on one Bugzilla request")
	fs.IntVar(&j.Bugzilla.Attempts, "cron.bugzilla.attempts", d.Attempts, "tries per Bugzilla request (network errors, timeouts, 429, 5xx)")
	j.Bugzilla.Backoff = d.Backoff
	registerAlertFlags(fs, &j.Alerts)
}

// Validate checks the settings.
func Validate(c Config, j JobsConfig) error {
	switch {
	case c.Tick <= 0:
		return errors.New("-cron.tick: must be positive")
	case c.LeaseTTL < 3*time.Second:
		return errors.New("-cron.lease-ttl: must be at least 3s")
	case c.RetryBackoff <= 0:
		return errors.New("-cron.retry-backoff: must be positive")
	case c.MaxBackfill < 1:
		return errors.New("-cron.max-backfill: must be at least 1")
	case j.RetentionDays < 1:
		return errors.New("-cron.retention-days: must be at least 1")
	case j.DumpRetentionDays < 1 || j.DumpRetentionDays > j.RetentionDays:
		return errors.New("-cron.dump-retention-days: must be between 1 and -cron.retention-days")
	case j.RetentionLookback < 0:
		return errors.New("-cron.retention-lookback-days: must not be negative")
	case j.MissingSymbolsSample < 1:
		return errors.New("-cron.missing-symbols-sample: must be at least 1")
	case j.CorrelationsTop < 1 || j.CorrelationsTop > 1000:
		return errors.New("-cron.correlations.top: want 1..1000")
	case j.Bugzilla.PageSize < 1 || j.Bugzilla.PageSize > 10000:
		return errors.New("-cron.bugzilla.page-size: want 1..10000")
	case j.Bugzilla.Timeout <= 0:
		return errors.New("-cron.bugzilla.timeout: must be positive")
	case j.Bugzilla.Attempts < 1:
		return errors.New("-cron.bugzilla.attempts: must be at least 1")
	}
	if err := validateAlerts(j.Alerts); err != nil {
		return err
	}
	if j.Bugzilla.URL != "" {
		if u, err := url.Parse(j.Bugzilla.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("-cron.bugzilla.url: want an http(s) URL")
		}
	}
	return nil
}
