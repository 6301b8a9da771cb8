package cron

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crashstream/crashstream/services/runtime"
)

type metrics struct {
	runs, failures *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	lastSuccess    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := runtime.NewMetrics(reg)
	return &metrics{
		runs:     m.CounterVec("crashstream_cron_runs_total", "Job runs (one per period), by job.", "job"),
		failures: m.CounterVec("crashstream_cron_failures_total", "Failed job runs, by job.", "job"),
		duration: m.HistogramVec("crashstream_cron_run_seconds", "Duration of one job run.",
			prometheus.ExponentialBuckets(0.01, 4, 10), "job"),
		lastSuccess: m.GaugeVec("crashstream_cron_last_success_timestamp_seconds",
			"Unix time of each job's last success (alert on its age).", "job"),
	}
}
