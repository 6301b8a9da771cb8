package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/wire"
)

// ErrMalformed marks a record value that can never be decoded: not framed,
// not Avro for its schema, an unknown schema id, or a schema of another
// record type. Consumers should dead-letter such records rather than retry;
// any other Unmarshal error (registry unreachable) is worth a retry.
var ErrMalformed = errors.New("registry: malformed record")

// maxWriterCodecs bounds the cache of old-revision codecs; a topic holds a
// handful of schema revisions, not thousands.
const maxWriterCodecs = 256

// Serde turns events into Confluent-framed Avro and back. Build one per
// process with NewSerde; it is safe for concurrent use.
type Serde struct {
	reg Registry
	ids map[string]uint32 // schema file -> id of its current revision

	mu      sync.Mutex
	writers map[uint32]*schemas.Codec // older revisions met while decoding
}

// NewSerde resolves (and, on a Confluent registry, registers) the id of the
// current schema of every event type under its subjects.
func NewSerde(ctx context.Context, reg Registry) (*Serde, error) {
	s := &Serde{reg: reg, ids: map[string]uint32{}, writers: map[uint32]*schemas.Codec{}}
	for _, r := range []schemas.Record{&schemas.CrashReceived{}, &schemas.ProcessRequest{}, &schemas.ProcessedCrash{}, &schemas.TelemetryCrash{}} {
		text, err := schemas.Source(r.SchemaFile())
		if err != nil {
			return nil, err
		}
		for _, sub := range Subjects(r) {
			id, err := reg.Register(ctx, sub, text)
			if err != nil {
				return nil, err
			}
			if _, ok := s.ids[r.SchemaFile()]; !ok {
				s.ids[r.SchemaFile()] = id
			}
		}
	}
	return s, nil
}

// ID returns the schema id Marshal writes for r's type.
func (s *Serde) ID(r schemas.Record) uint32 { return s.ids[r.SchemaFile()] }

// Marshal returns r as a framed value with its current schema's id.
func (s *Serde) Marshal(r schemas.Record) ([]byte, error) {
	return s.AppendMarshal(nil, r)
}

// AppendMarshal appends r, framed, to dst.
func (s *Serde) AppendMarshal(dst []byte, r schemas.Record) ([]byte, error) {
	c, err := schemas.CurrentCodec(r)
	if err != nil {
		return nil, err
	}
	return c.Encode(wire.AppendHeader(dst, s.ids[r.SchemaFile()]), r)
}

// Unmarshal decodes a framed value into r. A value written with an earlier
// revision of r's schema is decoded with that revision (fetched from the
// registry by id) and mapped onto r by field name.
func (s *Serde) Unmarshal(ctx context.Context, b []byte, r schemas.Record) error {
	id, payload, err := wire.Split(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var c *schemas.Codec
	if id == s.ids[r.SchemaFile()] {
		c, err = schemas.CurrentCodec(r)
	} else {
		c, err = s.writerCodec(ctx, id, r)
	}
	if err != nil {
		return err
	}
	if err := c.Decode(payload, r); err != nil {
		return fmt.Errorf("%w: schema id %d: %w", ErrMalformed, id, err)
	}
	return nil
}

func (s *Serde) writerCodec(ctx context.Context, id uint32, r schemas.Record) (*schemas.Codec, error) {
	s.mu.Lock()
	c, ok := s.writers[id]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	text, err := s.reg.Schema(ctx, id)
	if errors.Is(err, ErrSchemaNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err != nil {
		return nil, err
	}
	want, err := schemas.Source(r.SchemaFile())
	if err != nil {
		return nil, err
	}
	if got, exp := recordName(text), recordName(want); got != exp {
		return nil, fmt.Errorf("%w: schema id %d is record %q, want %q", ErrMalformed, id, got, exp)
	}
	c, err = schemas.NewCodec(text, r)
	if err != nil {
		return nil, fmt.Errorf("%w: schema id %d: %w", ErrMalformed, id, err)
	}
	s.mu.Lock()
	if len(s.writers) < maxWriterCodecs {
		s.writers[id] = c
	}
	s.mu.Unlock()
	return c, nil
}

// recordName returns the unqualified name of a record schema ("" if the
// text is not a named record), which is what Avro resolution matches on.
func recordName(text string) string {
	var s struct {
		Name string `json:"name"`
	}
	if json.Unmarshal([]byte(text), &s) != nil {
		return ""
	}
	for i := len(s.Name) - 1; i >= 0; i-- {
		if s.Name[i] == '.' {
			return s.Name[i+1:]
		}
	}
	return s.Name
}

// NewStaticSerde is a Serde over the static registry (the schemas compiled
// into the binary, with their fixed ids), for the tools and tests that run
// without a schema registry service.
func NewStaticSerde() (*Serde, error) {
	static, err := NewStatic()
	if err != nil {
		return nil, err
	}
	return NewSerde(context.Background(), static)
}
