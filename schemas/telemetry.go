package schemas

import (
	"sync"

	"github.com/crashstream/crashstream/schemas/fields"
)

// The telemetry record is a renamed subset of the processed crash, so its
// goavro native form is the processed crash's with the keys renamed: the
// generated converters of ProcessedCrash serve both.

// telemetryName is one exported field: its processed-crash and telemetry
// names.
type telemetryName struct{ processed, telemetry string }

// telemetryNames lists the telemetry fields from the field registry. It is
// computed once and never modified.
var telemetryNames = sync.OnceValue(func() []telemetryName {
	var out []telemetryName
	for _, f := range fields.New().Telemetry() {
		out = append(out, telemetryName{f.Name, f.TelemetryFieldName()})
	}
	return out
})

func (c *TelemetryCrash) toNative() map[string]any {
	all := c.processed().toNative()
	names := telemetryNames()
	out := make(map[string]any, len(names))
	for _, n := range names {
		out[n.telemetry] = all[n.processed]
	}
	return out
}

func (c *TelemetryCrash) fromNative(m map[string]any) error {
	names := telemetryNames()
	renamed := make(map[string]any, len(names))
	for _, n := range names {
		if v, ok := m[n.telemetry]; ok {
			renamed[n.processed] = v
		}
	}
	var pc ProcessedCrash
	if err := pc.fromNative(renamed); err != nil {
		return err
	}
	*c = *pc.Telemetry()
	return nil
}

func (c *TelemetryCrash) sizeHint() int { return c.processed().sizeHint() }
