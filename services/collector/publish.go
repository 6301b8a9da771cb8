package collector

import (
	"context"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/streams"
)

// Sender sends one record and returns once every in-sync replica has it
// (*streams.Producer).
type Sender interface {
	Send(ctx context.Context, topic string, key, value []byte, headers ...streams.Header) error
}

// Marshaler frames an event as Confluent-framed Avro (*registry.Serde).
type Marshaler interface {
	Marshal(r schemas.Record) ([]byte, error)
}

// KafkaPublisher publishes crash.received.v1 records keyed by crash id.
type KafkaPublisher struct {
	sender Sender
	serde  Marshaler
	topic  string
}

// NewKafkaPublisher returns a Publisher writing to topic (the prefixed
// crash.received.v1 name).
func NewKafkaPublisher(s Sender, m Marshaler, topic string) *KafkaPublisher {
	return &KafkaPublisher{sender: s, serde: m, topic: topic}
}

// Publish implements Publisher.
func (p *KafkaPublisher) Publish(ctx context.Context, ev schemas.CrashReceived) error {
	value, err := p.serde.Marshal(&ev)
	if err != nil {
		return err
	}
	return p.sender.Send(ctx, p.topic, []byte(ev.CrashID), value)
}
