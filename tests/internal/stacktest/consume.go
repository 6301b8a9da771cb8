package stacktest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/streams"
)

// Consume reads topic (its full name) from the start with the consumer
// group group, handing each record to fn one at a time, until fn returns
// true or timeout passes; it fails the test if the consumer fails. fn runs
// on the consumer's goroutines, so it must not call t.FailNow; what it
// gathers is safe to read once Consume returns.
func Consume(t testing.TB, cfg streams.Config, group, topic string, timeout time.Duration, fn func(*streams.Message) (done bool)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var mu sync.Mutex
	c, err := streams.NewConsumer(cfg, streams.ConsumerOptions{
		Options: streams.Options{Logger: zerolog.Nop()}, Group: group, Topics: []string{topic},
	}, streams.HandlerFunc(func(_ context.Context, m *streams.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if fn(m) {
			cancel()
		}
		return nil
	}))
	require.NoError(t, err)
	require.NoError(t, c.Run(ctx)) // returns once the handler calls in flight are done
}
