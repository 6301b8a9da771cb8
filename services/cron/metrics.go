package cron

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	runs, failures *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	lastSuccess    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_cron_runs_total",
			Help: "Job runs (one per period), by job."}, []string{"job"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_cron_failures_total",
			Help: "Failed job runs, by job."}, []string{"job"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "crashstream_cron_run_seconds",
			Help: "Duration of one job run.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)}, []string{"job"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crashstream_cron_last_success_timestamp_seconds",
			Help: "Unix time of each job's last success (alert on its age)."}, []string{"job"}),
	}
	if reg != nil {
		reg.MustRegister(m.runs, m.failures, m.duration, m.lastSuccess)
	}
	return m
}
