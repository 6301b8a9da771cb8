// Package registry resolves schema ids for the Confluent wire format and
// frames crashstream's events with them.
//
// A Registry maps (subject, schema) to an id and an id back to its schema.
// Two implementations: Static, the project's own schemas with ids pinned in
// code (no external service needed; the webapp serves it read-only through
// Handler so any Confluent deserializer can fetch schemas from a plain
// crashstream install), and Client, for any registry speaking the
// Confluent Schema Registry REST API (schemas registered at start-up, ids
// and schemas cached).
//
// Subjects follow Confluent's TopicNameStrategy on the unprefixed topic
// names (crash.processed.v1-value, ...), whatever kafka.topic-prefix says:
// the prefix isolates deployments sharing a cluster, while a schema is the
// same contract everywhere, and a registry gives identical schemas the same
// id under any subject anyway.
package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/linkedin/goavro/v2"

	"github.com/crashstream/crashstream/schemas"
)

// Registry resolves schema ids. Implementations are safe for concurrent use.
type Registry interface {
	// Register returns the id of schema under subject, registering it
	// first when the implementation can.
	Register(ctx context.Context, subject, schema string) (uint32, error)
	// Schema returns the schema text of id.
	Schema(ctx context.Context, id uint32) (string, error)
}

// Errors a Registry returns; wrap-compatible with errors.Is.
var (
	// ErrSchemaNotFound: no schema has this id.
	ErrSchemaNotFound = errors.New("registry: schema not found")
	// ErrSubjectNotFound: the subject is unknown.
	ErrSubjectNotFound = errors.New("registry: subject not found")
	// ErrVersionNotFound: the subject has no such version.
	ErrVersionNotFound = errors.New("registry: version not found")
	// ErrReadOnly: the static registry cannot register a schema it does
	// not already hold.
	ErrReadOnly = errors.New("registry: static registry is read-only")
)

// Subject names, one per topic (TopicNameStrategy, value schemas).
const (
	SubjectReceived  = "crash.received.v1-value"
	SubjectPriority  = "crash.priority.v1-value"
	SubjectReprocess = "crash.reprocess.v1-value"
	SubjectProcessed = "crash.processed.v1-value"
	SubjectTelemetry = "crash.telemetry.v1-value"
)

// Subjects returns the subjects a record type's schema is registered under.
func Subjects(r schemas.Record) []string { return subjectsOf(r.SchemaFile()) }

func subjectsOf(file string) []string {
	switch file {
	case schemas.FileCrashReceived:
		return []string{SubjectReceived}
	case schemas.FileProcessRequest:
		return []string{SubjectPriority, SubjectReprocess}
	case schemas.FileProcessedCrash:
		return []string{SubjectProcessed}
	case schemas.FileTelemetryCrash:
		return []string{SubjectTelemetry}
	}
	return nil
}

// pin is one schema revision the static registry serves.
type pin struct {
	id       uint32
	file     string // schemas.Source name
	subjects []string
}

// pinned lists every schema revision with its id, from the ledger that
// schemas/internal/gen keeps (schemas/avro/revisions.json): a schema whose
// canonical form changes gets the next id there when `go generate` runs.
// The order of entries of a subject gives its version numbers (1, 2, ...).
func pinned() ([]pin, error) {
	revs, err := schemas.Revisions()
	if err != nil {
		return nil, err
	}
	out := make([]pin, len(revs))
	for i, r := range revs {
		out[i] = pin{r.ID, r.Source, subjectsOf(r.File)}
		if len(out[i].subjects) == 0 {
			return nil, fmt.Errorf("registry: %s has no subject", r.File)
		}
	}
	return out, nil
}

// Version is one version of a subject.
type Version struct {
	// Subject is the subject name.
	Subject string
	// Version numbers a subject's schemas from 1.
	Version int
	// ID is the global schema id.
	ID uint32
	// Schema is the schema text.
	Schema string
}

// Static is the read-only registry of crashstream's own schemas with their
// pinned ids. Build it with NewStatic; it never changes afterwards.
type Static struct {
	byID      map[uint32]string
	canonical map[string]uint32 // canonical form -> id
	subjects  map[string][]Version
}

// NewStatic loads the embedded schemas and their pinned ids.
func NewStatic() (*Static, error) {
	s := &Static{byID: map[uint32]string{}, canonical: map[string]uint32{}, subjects: map[string][]Version{}}
	pins, err := pinned()
	if err != nil {
		return nil, err
	}
	for _, p := range pins {
		text, err := schemas.Source(p.file)
		if err != nil {
			return nil, err
		}
		if _, dup := s.byID[p.id]; dup {
			return nil, fmt.Errorf("registry: id %d pinned twice", p.id)
		}
		canon, err := canonicalForm(text)
		if err != nil {
			return nil, fmt.Errorf("registry: %s: %w", p.file, err)
		}
		s.byID[p.id] = text
		s.canonical[canon] = p.id
		for _, sub := range p.subjects {
			vs := s.subjects[sub]
			s.subjects[sub] = append(vs, Version{Subject: sub, Version: len(vs) + 1, ID: p.id, Schema: text})
		}
	}
	return s, nil
}

// canonicalForm is Avro's Parsing Canonical Form, so that whitespace, doc
// strings and attribute order do not make two equal schemas differ.
func canonicalForm(text string) (string, error) {
	c, err := goavro.NewCodec(text)
	if err != nil {
		return "", err
	}
	return c.CanonicalSchema(), nil
}

// Register returns the pinned id of schema if the static registry holds it
// under subject; it cannot add schemas.
func (s *Static) Register(_ context.Context, subject, schema string) (uint32, error) {
	canon, err := canonicalForm(schema)
	if err != nil {
		return 0, fmt.Errorf("registry: invalid schema: %w", err)
	}
	for _, v := range s.subjects[subject] {
		if id, ok := s.canonical[canon]; ok && id == v.ID {
			return id, nil
		}
	}
	return 0, fmt.Errorf("%w: subject %q has no such schema", ErrReadOnly, subject)
}

// Schema returns the schema text of a pinned id.
func (s *Static) Schema(_ context.Context, id uint32) (string, error) {
	text, ok := s.byID[id]
	if !ok {
		return "", fmt.Errorf("%w: id %d", ErrSchemaNotFound, id)
	}
	return text, nil
}

// SubjectNames returns every subject, sorted.
func (s *Static) SubjectNames() []string {
	out := make([]string, 0, len(s.subjects))
	for k := range s.subjects {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Versions returns the versions of subject, oldest first.
func (s *Static) Versions(subject string) ([]Version, error) {
	vs, ok := s.subjects[subject]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrSubjectNotFound, subject)
	}
	return slices.Clone(vs), nil
}

// Version returns version v of subject; v <= 0 means the latest.
func (s *Static) Version(subject string, v int) (Version, error) {
	vs, err := s.Versions(subject)
	if err != nil {
		return Version{}, err
	}
	if v <= 0 {
		return vs[len(vs)-1], nil
	}
	if v > len(vs) {
		return Version{}, fmt.Errorf("%w: %q version %d", ErrVersionNotFound, subject, v)
	}
	return vs[v-1], nil
}
