package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 3},
	}
	for _, tt := range tests {
		r := result{seconds: tt.in}
		assert.Equal(t, tt.want, r.median())
	}
}

// TestRunSmall runs the whole harness on a tiny in-process cluster: every
// path must move every record and the table must come out.
func TestRunSmall(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	defer c.Close()
	var out bytes.Buffer
	require.NoError(t, run([]string{"-kafka.brokers", strings.Join(c.ListenAddrs(), ","),
		"-n", "4", "-repeat", "1", "-threads", "1", "-modules", "2"}, &out))
	assert.Contains(t, out.String(), "| path | records/s | MB/s |")
	assert.Contains(t, out.String(), "Ratios (contracts / raw throughput)")
	assert.Equal(t, 6, strings.Count(out.String(), "\n|"), "header, separator and four rows")
}
