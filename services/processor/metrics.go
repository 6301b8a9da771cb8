package processor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crashstream/crashstream/services/runtime"
)

type metrics struct {
	crashes  *prometheus.CounterVec
	failures *prometheus.CounterVec
	duration prometheus.Observer
	rules    *prometheus.HistogramVec
	ruleErrs *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := runtime.NewMetrics(reg)
	return &metrics{
		crashes: m.CounterVec("crashstream_processor_crashes_total", "Crashes processed, by ruleset.", "ruleset"),
		failures: m.CounterVec("crashstream_processor_failures_total",
			"Records that could not be processed, by stage (decode, permanent, publish).", "stage"),
		duration: m.HistogramVec("crashstream_processor_crash_seconds", "Time to run a ruleset over one crash.",
			prometheus.ExponentialBuckets(0.001, 2, 16)).WithLabelValues(),
		rules: m.HistogramVec("crashstream_processor_rule_seconds", "Time per rule (MinidumpStackwalk is the stackwalk).",
			prometheus.ExponentialBuckets(0.0001, 4, 12), "rule"),
		ruleErrs: m.CounterVec("crashstream_processor_rule_errors_total", "Rule failures noted on crashes.", "rule"),
	}
}

func (m *metrics) observeRule(rule string, d time.Duration, err error) {
	m.rules.WithLabelValues(rule).Observe(d.Seconds())
	if err != nil {
		m.ruleErrs.WithLabelValues(rule).Inc()
	}
}
