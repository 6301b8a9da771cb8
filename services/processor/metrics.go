package processor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	crashes  *prometheus.CounterVec
	failures *prometheus.CounterVec
	duration prometheus.Histogram
	rules    *prometheus.HistogramVec
	ruleErrs *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		crashes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_processor_crashes_total",
			Help: "Crashes processed, by ruleset."}, []string{"ruleset"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_processor_failures_total",
			Help: "Records that could not be processed, by stage (decode, permanent, publish)."}, []string{"stage"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crashstream_processor_crash_seconds",
			Help: "Time to run a ruleset over one crash.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		rules: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "crashstream_processor_rule_seconds",
			Help: "Time per rule (MinidumpStackwalk is the stackwalk).", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 12)}, []string{"rule"}),
		ruleErrs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crashstream_processor_rule_errors_total",
			Help: "Rule failures noted on crashes."}, []string{"rule"}),
	}
	if reg != nil {
		reg.MustRegister(m.crashes, m.failures, m.duration, m.rules, m.ruleErrs)
	}
	return m
}

func (m *metrics) observeRule(rule string, d time.Duration, err error) {
	m.rules.WithLabelValues(rule).Observe(d.Seconds())
	if err != nil {
		m.ruleErrs.WithLabelValues(rule).Inc()
	}
}
