package cron

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/services/lib/alerts"
	"github.com/crashstream/crashstream/services/runtime"
)

// AlertsConfig holds the alerts job's settings.
type AlertsConfig struct {
	// Rules is the rules file; empty: the job is off.
	Rules string
	// Every is the job's period: how often the rules are evaluated.
	Every time.Duration
	// Notify tunes the webhook deliveries.
	Notify alerts.NotifierConfig
}

func registerAlertFlags(fs *flag.FlagSet, a *AlertsConfig) {
	d := alerts.DefaultNotifierConfig()
	a.Notify = d
	fs.StringVar(&a.Rules, "cron.alerts.rules", "", "alert rules file (YAML; see README \"Alerts\"); empty: the alerts job is off")
	fs.DurationVar(&a.Every, "cron.alerts.every", 5*time.Minute, "how often the alert rules are evaluated")
	fs.StringVar(&a.Notify.PublicURL, "cron.alerts.public-url", "", "the webapp's base URL, for the signature report links in alert messages; empty: no links")
	fs.DurationVar(&a.Notify.Timeout, "cron.alerts.webhook-timeout", d.Timeout, "bound on one webhook POST")
	fs.IntVar(&a.Notify.Retry.MaxAttempts, "cron.alerts.webhook-attempts", d.Retry.MaxAttempts, "tries per webhook delivery (network errors, timeouts, 408, 429, 5xx)")
	fs.DurationVar(&a.Notify.Retry.Initial, "cron.alerts.webhook-backoff", d.Retry.Initial, "first wait between webhook tries (doubles, with jitter, up to 30s)")
}

func validateAlerts(a AlertsConfig) error {
	if a.Every < time.Minute || a.Every > time.Hour {
		return errors.New("-cron.alerts.every: want 1m..1h")
	}
	if err := a.Notify.Validate(); err != nil {
		return fmt.Errorf("-cron.alerts.webhook-*: %w", err)
	}
	return nil
}

// Alerts evaluates the alert rules every period (not backfilled: an alert
// about an hour long past is noise). The evaluation time is the end of
// the period, so that every replica evaluating a period asks the same
// question; each firing is claimed in the object store before it is sent,
// so a replica that runs the period again, or at the same time, sends
// nothing twice (see package alerts).
//
// Metrics: crashstream_alerts_total by outcome (fired: claimed and sent
// by this replica; quiet: within the cooldown; taken: claimed by another
// replica first) and crashstream_alerts_deliveries_total by status
// (delivered; failed after its retries, tried again at the next run;
// rejected by a 4xx).
func Alerts(ev *alerts.Evaluator, every time.Duration, log zerolog.Logger, reg prometheus.Registerer) Job {
	m := runtime.NewMetrics(reg)
	outcomes := m.CounterVec("crashstream_alerts_total", "Alert rule matches by outcome: fired (claimed and sent by this replica), quiet (within the cooldown), taken (claimed by another replica).", "outcome")
	deliveries := m.CounterVec("crashstream_alerts_deliveries_total", "Alert webhook deliveries by status: delivered, failed after its retries (tried again next run), rejected (a 4xx).", "status")
	return NewJob("alerts", every, false, func(ctx context.Context, p time.Time) error {
		at := p.Add(every)
		sum, err := ev.Evaluate(ctx, at)
		outcomes.WithLabelValues("fired").Add(float64(sum.Fired))
		outcomes.WithLabelValues("quiet").Add(float64(sum.Quiet))
		outcomes.WithLabelValues("taken").Add(float64(sum.Taken))
		deliveries.WithLabelValues(alerts.StatusDelivered).Add(float64(sum.Delivered))
		deliveries.WithLabelValues(alerts.StatusFailed).Add(float64(sum.Failed))
		deliveries.WithLabelValues(alerts.StatusRejected).Add(float64(sum.Rejected))
		line := log.Info()
		if err != nil || sum.Failed+sum.Rejected > 0 {
			line = log.Warn().AnErr("error", err)
		}
		line.Time("at", at).Int("candidates", sum.Candidates).Int("fired", sum.Fired).Int("quiet", sum.Quiet).Int("taken", sum.Taken).
			Int("resumed", sum.Resumed).Int("delivered", sum.Delivered).Int("failed_deliveries", sum.Failed).Int("rejected_deliveries", sum.Rejected).Msg("alerts")
		return err
	})
}
