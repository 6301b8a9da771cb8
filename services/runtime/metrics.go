package runtime

import "github.com/prometheus/client_golang/prometheus"

// Metrics builds a service's metric families on the registry it was given
// (Process.Registry; nil leaves them unregistered, for tests). A name
// registered twice panics, as with MustRegister: it is a bug, found at
// start-up.
type Metrics struct{ reg prometheus.Registerer }

// NewMetrics returns a builder registering on reg.
func NewMetrics(reg prometheus.Registerer) Metrics { return Metrics{reg} }

func (m Metrics) register(c prometheus.Collector) {
	if m.reg != nil {
		m.reg.MustRegister(c)
	}
}

// CounterVec registers a counter family.
func (m Metrics) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.register(c)
	return c
}

// GaugeVec registers a gauge family.
func (m Metrics) GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	m.register(g)
	return g
}

// HistogramVec registers a histogram family with the given buckets.
func (m Metrics) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	m.register(h)
	return h
}
