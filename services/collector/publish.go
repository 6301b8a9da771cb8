package collector

import (
	"context"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/streams"
)

// Marshaler frames an event as Confluent-framed Avro (*registry.Serde).
type Marshaler interface {
	Marshal(r schemas.Record) ([]byte, error)
}

// KafkaPublisher publishes crash.received.v1 records keyed by crash id.
type KafkaPublisher struct {
	sender streams.Sender
	serde  Marshaler
	topic  string
}

// NewKafkaPublisher returns a Publisher writing to topic (the prefixed
// crash.received.v1 name).
func NewKafkaPublisher(s streams.Sender, m Marshaler, topic string) *KafkaPublisher {
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
