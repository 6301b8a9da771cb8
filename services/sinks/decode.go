package sinks

import (
	"context"
	"errors"
	"fmt"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/streams"
)

// Decoder decodes framed Avro values; *registry.Serde implements it.
type Decoder interface {
	Unmarshal(ctx context.Context, b []byte, r schemas.Record) error
}

// decode reads a processed crash. Malformed values are Permanent (dead
// letters); a registry that cannot be reached is transient. A record whose
// key is not its crash id violates the topic contract and is Permanent too.
func decode(ctx context.Context, d Decoder, m *streams.Message) (*schemas.ProcessedCrash, error) {
	var pc schemas.ProcessedCrash
	if err := d.Unmarshal(ctx, m.Value, &pc); err != nil {
		if errors.Is(err, registry.ErrMalformed) {
			return nil, streams.Permanent(err)
		}
		return nil, err
	}
	if pc.CrashID == "" || (len(m.Key) > 0 && string(m.Key) != pc.CrashID) {
		return nil, streams.Permanent(fmt.Errorf("processed crash id %q does not match record key %q", pc.CrashID, m.Key))
	}
	return &pc, nil
}
