package clickhouse

import (
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
)

// Column is one column of the crashes table that the writer fills.
type Column struct {
	// Name is the ClickHouse column.
	Name string
	// Field is the registry field stored in it.
	Field fields.Field
	// index is the ProcessedCrash struct field it is read from.
	index []int
}

// Row is one crashes-table row: its values in Table.Columns order, with the
// crash id and version kept aside for deduplication inside a batch.
type Row struct {
	CrashID string
	// Version is row_version: the processing time in microseconds. Among
	// rows of one crash the highest wins.
	Version uint64
	Values  []any
}

// Table maps processed crashes to crashes-table rows. It is built once
// from the field registry: every field with a ClickHouse column is read from
// the ProcessedCrash field with the same Avro name, so adding a field to the
// registry (and a migration adding its column) is all the sink needs.
type Table struct {
	columns []Column
	names   []string
	// submittedIdx and processedIdx are positions in columns of the two
	// times the row needs defaults for.
	submittedIdx, processedIdx int
	// agg holds the positions of the columns top_crashers_daily is keyed
	// and summed on, for the writer's corrections.
	agg aggIndex
}

// aggIndex locates the top_crashers_daily inputs in a row.
type aggIndex struct {
	product, processType, version, osName, signature, startup, uptime, gc int
}

// NewTable builds the mapping from reg. It fails when a ClickHouse field of
// the registry has no ProcessedCrash field or an unsupported Go type, which
// the unit tests catch.
func NewTable(reg *fields.Registry) (*Table, error) {
	st := reflect.TypeFor[schemas.ProcessedCrash]()
	byTag := map[string]reflect.StructField{}
	for i := range st.NumField() {
		if tag, ok := st.Field(i).Tag.Lookup("avro"); ok {
			byTag[tag] = st.Field(i)
		}
	}
	t := &Table{}
	for _, f := range reg.ClickHouse() {
		sf, ok := byTag[f.Name]
		if !ok {
			return nil, fmt.Errorf("field %s has a ClickHouse column but no ProcessedCrash field", f.Name)
		}
		switch sf.Type {
		case reflect.TypeFor[string](), reflect.TypeFor[*int64](), reflect.TypeFor[*float64](),
			reflect.TypeFor[*bool](), reflect.TypeFor[time.Time](), reflect.TypeFor[[]string]():
		default:
			return nil, fmt.Errorf("field %s: Go type %s has no ClickHouse mapping", f.Name, sf.Type)
		}
		if !identRE.MatchString(f.ClickHouseColumn) {
			return nil, fmt.Errorf("field %s: column %q is not a plain identifier", f.Name, f.ClickHouseColumn)
		}
		if p, ok := map[string]*int{
			"submitted_timestamp": &t.submittedIdx, "date_processed": &t.processedIdx,
			"product": &t.agg.product, "process_type": &t.agg.processType, "version": &t.agg.version,
			"os_name": &t.agg.osName, "signature": &t.agg.signature, "startup_crash": &t.agg.startup,
			"uptime": &t.agg.uptime, "is_garbage_collecting": &t.agg.gc,
		}[f.ClickHouseColumn]; ok {
			*p = len(t.columns) + 1 // +1 so that zero means missing
		}
		t.columns = append(t.columns, Column{Name: f.ClickHouseColumn, Field: f, index: sf.Index})
		t.names = append(t.names, f.ClickHouseColumn)
	}
	for _, p := range []*int{&t.submittedIdx, &t.processedIdx, &t.agg.product, &t.agg.processType, &t.agg.version,
		&t.agg.osName, &t.agg.signature, &t.agg.startup, &t.agg.uptime, &t.agg.gc} {
		if *p == 0 {
			return nil, fmt.Errorf("registry lacks a column the crashes table is keyed or aggregated on")
		}
		*p-- // back to a 0-based position
	}
	return t, nil
}

// Columns returns the columns in insert order (row_version excluded).
func (t *Table) Columns() []Column { return append([]Column(nil), t.columns...) }

// ColumnNames returns the column names in insert order (row_version excluded).
func (t *Table) ColumnNames() []string { return append([]string(nil), t.names...) }

// Row converts one processed crash. submitted_timestamp, the partition key,
// falls back to the date in the crash id when absent; date_processed falls
// back to submitted_timestamp. The version is date_processed in microseconds:
// a later processing has a later date_processed.
func (t *Table) Row(c *schemas.ProcessedCrash) (Row, error) {
	if c.CrashID == "" {
		return Row{}, fmt.Errorf("%w: empty crash_id", ErrInvalidCrash)
	}
	v := reflect.ValueOf(c).Elem()
	vals := make([]any, len(t.columns))
	for i, col := range t.columns {
		vals[i] = chValue(v.FieldByIndex(col.index))
	}
	submitted, _ := vals[t.submittedIdx].(time.Time)
	if submitted.IsZero() {
		d, err := CrashIDDate(c.CrashID)
		if err != nil {
			return Row{}, fmt.Errorf("%w: no submitted_timestamp and %v", ErrInvalidCrash, err)
		}
		submitted = d
		vals[t.submittedIdx] = d
	}
	processed, _ := vals[t.processedIdx].(time.Time)
	if processed.IsZero() {
		processed = submitted
		vals[t.processedIdx] = submitted
	}
	for _, tm := range []time.Time{submitted, processed} {
		if y := tm.Year(); y < 1971 || y > 2105 {
			return Row{}, fmt.Errorf("%w: crash %s: time %s outside DateTime range", ErrInvalidCrash, c.CrashID, tm)
		}
	}
	return Row{CrashID: c.CrashID, Version: uint64(processed.UnixMicro()), Values: vals}, nil
}

// aggKey is a row's top_crashers_daily key and summed flags.
type aggKey struct {
	product, processType, version, osName, signature string
	day                                              time.Time
	startup, shortUptime, gc                         int64
}

func (t *Table) aggKey(r Row) aggKey {
	str := func(i int) string { s, _ := r.Values[i].(string); return s }
	flag := func(i int) int64 {
		if u, ok := r.Values[i].(*uint8); ok && u != nil && *u != 0 {
			return 1
		}
		return 0
	}
	k := aggKey{product: str(t.agg.product), processType: str(t.agg.processType), version: str(t.agg.version),
		osName: str(t.agg.osName), signature: str(t.agg.signature), startup: flag(t.agg.startup), gc: flag(t.agg.gc)}
	if up, ok := r.Values[t.agg.uptime].(*int64); ok && up != nil && *up < 60 {
		k.shortUptime = 1
	}
	sub, _ := r.Values[t.submittedIdx].(time.Time)
	k.day = time.Date(sub.Year(), sub.Month(), sub.Day(), 0, 0, 0, 0, time.UTC)
	return k
}

// chValue converts a ProcessedCrash field to what clickhouse-go appends to
// the registry's column type: nil pointers are NULLs, bools are UInt8,
// nil lists are empty arrays.
func chValue(f reflect.Value) any {
	switch x := f.Interface().(type) {
	case *bool:
		if x == nil {
			return (*uint8)(nil)
		}
		u := uint8(0)
		if *x {
			u = 1
		}
		return &u
	case []string:
		if x == nil {
			return []string{}
		}
		return x
	case time.Time:
		return x.UTC()
	default:
		return x
	}
}

// CrashIDDate returns the UTC submission date encoded in a crash id's last
// six characters (yymmdd).
func CrashIDDate(id string) (time.Time, error) {
	if len(id) < 6 {
		return time.Time{}, fmt.Errorf("crash id %q too short for a date", id)
	}
	s := id[len(id)-6:]
	if _, err := strconv.Atoi(s); err != nil {
		return time.Time{}, fmt.Errorf("crash id %q does not end in yymmdd", id)
	}
	d, err := time.Parse("060102", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("crash id %q does not end in a valid yymmdd", id)
	}
	return d.UTC(), nil
}
