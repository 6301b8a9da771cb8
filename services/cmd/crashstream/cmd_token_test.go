package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLifetime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"12h", 12 * time.Hour, true},
		{"0d", 0, false},
		{"3651d", 0, false},
		{"-1h", 0, false},
		{"d", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, err := parseLifetime(tt.in)
		if !tt.ok {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestTokenUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"-help"}, {"create", "-bogus"}} {
		_, stderr, err := runCommand(tokenCommand(), "", nil, args...)
		require.Error(t, err, "%v", args)
		assert.Contains(t, stderr, "crashstream token", "%v", args)
	}
}
