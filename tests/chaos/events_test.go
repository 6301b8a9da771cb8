package chaos

import (
	"context"
	"errors"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/streams"
)

// clickhouseConn is the ClickHouse connection the checks read through.
type clickhouseConn = driver.Conn

// eventCounter counts the events of one topic per crash id (the record
// key), so that redeliveries are visible beside distinct arrivals.
type eventCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func newEventCounter() *eventCounter { return &eventCounter{n: map[string]int{}} }

func (e *eventCounter) run(ctx context.Context, cfg streams.Config, group, topic string) error {
	c, err := streams.NewConsumer(cfg, streams.ConsumerOptions{
		Options: streams.Options{Logger: zerolog.Nop()}, Group: group, Topics: []string{topic},
	}, streams.HandlerFunc(func(_ context.Context, m *streams.Message) error {
		e.mu.Lock()
		e.n[string(m.Key)]++
		e.mu.Unlock()
		return nil
	}))
	if err != nil {
		return err
	}
	if err := c.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (e *eventCounter) distinct() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.n)
}

func (e *eventCounter) count(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[id]
}
