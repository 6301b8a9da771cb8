package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/redact"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
)

// TelemetryConfig configures sink-telemetry.
type TelemetryConfig struct {
	Group string
	// WriteBucket also writes each record as JSON to the telemetry bucket
	// (s3.telemetry-bucket) at v1/crash_report/<YYYYMMDD>/<id>.
	WriteBucket bool
}

// RegisterFlags adds the sink-telemetry.* flags.
func (c *TelemetryConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Group, "sink-telemetry.group", "sink-telemetry", "consumer group of the telemetry sink")
	fs.BoolVar(&c.WriteBucket, "sink-telemetry.write-bucket", false, "also write telemetry JSON to the telemetry bucket (v1/crash_report/<YYYYMMDD>/<id>)")
}

// Validate checks the settings.
func (c TelemetryConfig) Validate() error {
	if c.Group == "" {
		return errors.New("-sink-telemetry.group: must not be empty")
	}
	return nil
}

// Encoder frames records as Avro; *registry.Serde implements it.
type Encoder interface {
	Marshal(r schemas.Record) ([]byte, error)
}

// TelemetryDeps are the sink's collaborators. Bucket is used only with
// WriteBucket.
type TelemetryDeps struct {
	Publisher streams.Sender
	Encoder   Encoder
	Decoder   Decoder
	Bucket    Putter
	Topic     string
	Fields    *fields.Registry
	Registry  prometheus.Registerer
}

// Telemetry is sink-telemetry: a streams.Handler.
type Telemetry struct {
	cfg     TelemetryConfig
	deps    TelemetryDeps
	mapper  *TelemetryMapper
	metrics *sinkMetrics
}

// NewTelemetry builds the sink.
func NewTelemetry(cfg TelemetryConfig, deps TelemetryDeps) (*Telemetry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Publisher == nil || deps.Encoder == nil || deps.Decoder == nil || deps.Fields == nil || deps.Topic == "" {
		return nil, errors.New("sink-telemetry: publisher, encoder, decoder, fields and topic are required")
	}
	if cfg.WriteBucket && deps.Bucket == nil {
		return nil, errors.New("sink-telemetry: -sink-telemetry.write-bucket needs a bucket")
	}
	mp, err := NewTelemetryMapper(deps.Fields)
	if err != nil {
		return nil, err
	}
	m, err := newSinkMetrics(deps.Registry, "telemetry")
	if err != nil {
		return nil, err
	}
	return &Telemetry{cfg: cfg, deps: deps, mapper: mp, metrics: m}, nil
}

// Handle exports one processed crash. The JSON object is written before
// the topic record, so a record on the topic means its object exists too.
func (s *Telemetry) Handle(ctx context.Context, m *streams.Message) error {
	pc, err := decode(ctx, s.deps.Decoder, m)
	if err != nil {
		if streams.IsPermanent(err) {
			s.metrics.rejected.Inc()
		}
		return err
	}
	tc, err := s.mapper.Map(pc)
	if err != nil {
		s.metrics.rejected.Inc()
		return streams.Permanent(err)
	}
	done := s.metrics.timer()
	if s.cfg.WriteBucket {
		key, err := objectstore.TelemetryKey(pc.CrashID)
		if err != nil {
			s.metrics.rejected.Inc()
			return streams.Permanent(err)
		}
		body, err := TelemetryJSON(tc)
		if err != nil {
			s.metrics.rejected.Inc()
			return streams.Permanent(err)
		}
		if err := s.deps.Bucket.PutBytes(ctx, key, body, "application/json"); err != nil {
			done(0, err)
			return err
		}
	}
	value, err := s.deps.Encoder.Marshal(tc)
	if err != nil {
		s.metrics.rejected.Inc()
		return streams.Permanent(err)
	}
	err = s.deps.Publisher.Send(ctx, s.deps.Topic, []byte(pc.CrashID), value)
	done(1, err)
	return err
}

// Stage declares what the sink consumes: crash.processed.v1 (of topics)
// in its group.
func (s *Telemetry) Stage(topics streams.Topics) streams.Stage {
	return streams.Stage{Name: "sink-telemetry", Group: s.cfg.Group, Topics: []string{topics.Processed}, Handler: s}
}

// TelemetryMapper makes the telemetry record of a processed crash: the
// fields the schema marks for telemetry (all public, under Socorro's
// renames: build->build_id, date_processed->date, os_*->platform*), after
// the registry's one redaction (schemas/redact), so nested protected keys
// are dropped and java_stack_trace is in its sanitised form, exactly as the
// webapp shows it to anonymous callers.
//
// Only the fields whose redaction can change a value go through it; the
// redactor says which (Redactor.Unchanged). Redacting the whole record
// through its JSON form was the sink's largest cost: 1.9 ms of CPU a crash,
// the third of the five services (BENCHMARKS.md).
type TelemetryMapper struct {
	redactor *redact.Redactor
	redacted []mappedField
}

// mappedField is a telemetry field's place in both Go types.
type mappedField struct {
	processed, telemetry int // field indexes in ProcessedCrash, TelemetryCrash
}

// NewTelemetryMapper builds the mapper on the field registry's redaction.
// It fails when the telemetry record and the registry disagree about which
// fields it carries, since a field the registry does not list would skip
// the redaction.
func NewTelemetryMapper(reg *fields.Registry) (*TelemetryMapper, error) {
	mp := &TelemetryMapper{redactor: redact.New(reg)}
	pcType := reflect.TypeFor[schemas.ProcessedCrash]()
	pcIndex := avroIndex(pcType)
	tcType := reflect.TypeFor[schemas.TelemetryCrash]()
	tcIndex := avroIndex(tcType)
	for _, f := range reg.Telemetry() {
		if !f.IsPublic() {
			return nil, fmt.Errorf("telemetry field %s is protected", f.Name)
		}
		p, okP := pcIndex[f.Name]
		t, okT := tcIndex[f.TelemetryFieldName()]
		if !okP || !okT || pcType.Field(p).Type != tcType.Field(t).Type {
			return nil, fmt.Errorf("telemetry field %s (%s) is not one field of one type in the processed crash and the telemetry record",
				f.Name, f.TelemetryFieldName())
		}
		delete(tcIndex, f.TelemetryFieldName())
		if !mp.redactor.Unchanged(f.Name, tcType.Field(t).Type) {
			mp.redacted = append(mp.redacted, mappedField{processed: p, telemetry: t})
		}
	}
	if len(tcIndex) > 0 {
		return nil, fmt.Errorf("telemetry record fields %v are not telemetry fields of the registry", slices.Sorted(maps.Keys(tcIndex)))
	}
	return mp, nil
}

// avroIndex maps a generated record's avro field names to field indexes.
func avroIndex(t reflect.Type) map[string]int {
	idx := map[string]int{}
	for i := range t.NumField() {
		if name, ok := t.Field(i).Tag.Lookup("avro"); ok && name != "-" {
			idx[name] = i
		}
	}
	return idx
}

// Map returns the telemetry record of pc, redacted.
func (mp *TelemetryMapper) Map(pc *schemas.ProcessedCrash) (*schemas.TelemetryCrash, error) {
	tc := pc.Telemetry()
	if len(mp.redacted) == 0 {
		return tc, nil
	}
	// a processed crash holding only the fields to redact, through the
	// redactor's whole-document path (the API's)
	var part schemas.ProcessedCrash
	src, dst := reflect.ValueOf(pc).Elem(), reflect.ValueOf(&part).Elem()
	for _, f := range mp.redacted {
		dst.Field(f.processed).Set(src.Field(f.processed))
	}
	red, err := mp.redactor.Processed(&part)
	if err != nil {
		return nil, err
	}
	out, from := reflect.ValueOf(tc).Elem(), reflect.ValueOf(red).Elem()
	for _, f := range mp.redacted {
		out.Field(f.telemetry).Set(from.Field(f.processed))
	}
	return tc, nil
}

// TelemetryJSON encodes tc under its Avro field names (nested records too),
// dates as RFC 3339 and absent values as null: the object Socorro's
// telemetry export writes (schemas.TelemetryCrash.MarshalJSON).
func TelemetryJSON(tc *schemas.TelemetryCrash) ([]byte, error) {
	return json.Marshal(tc)
}
