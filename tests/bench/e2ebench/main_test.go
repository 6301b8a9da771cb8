package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuantile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0, 1}, {0.5, 6}, {0.95, 10}, {1, 10}} {
		assert.Equal(t, tc.want, quantile(ds, tc.q), "q=%v", tc.q)
	}
	assert.Zero(t, quantile(nil, 0.5))
	assert.Equal(t, time.Duration(5), ds[0], "the input is not reordered")
}

func TestBadFlagsAreErrors(t *testing.T) {
	assert.Error(t, lag([]string{"-no-such-flag"}))
	assert.Error(t, minioPut([]string{"-count", "x"}))
	assert.Error(t, kafkaProduce([]string{"-duration", "x"}))
}
