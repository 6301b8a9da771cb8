package stackwalkcompat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/stackwalk"
	"github.com/crashstream/crashstream/services/lib/symbols"
	"github.com/crashstream/crashstream/tests/internal/oracle"
)

// Case is one dump with the symbol directories to walk it with.
type Case struct {
	Name    string
	Dump    string
	Symbols []string
	// Golden is minidump-stackwalk's stored output ("" when none).
	Golden string
}

// Cases lists the dumps with symbols: Breakpad's Linux dumps under
// shared/testdata/breakpad and every dump under tests/corpus/dumps.
func Cases(sharedTestdata, corpusDir string) []Case {
	var out []Case
	bp := filepath.Join(sharedTestdata, "breakpad")
	for _, n := range []string{"linux_null_read_av", "linux_overflow", "linux_stacksmash", "linux_raise_sigabrt", "minidump2"} {
		p := filepath.Join(bp, n+".dmp")
		if _, err := os.Stat(p); err == nil {
			out = append(out, Case{Name: "breakpad/" + n, Dump: p, Symbols: []string{filepath.Join(bp, "symbols")},
				Golden: existing(filepath.Join("testdata", "golden", n+".json"))})
		}
	}
	dumps, _ := filepath.Glob(filepath.Join(corpusDir, "dumps", "*.dmp"))
	sort.Strings(dumps)
	for _, p := range dumps {
		n := strings.TrimSuffix(filepath.Base(p), ".dmp")
		out = append(out, Case{Name: "corpus/" + n, Dump: p, Symbols: []string{filepath.Join(corpusDir, "symbols")},
			Golden: existing(filepath.Join(corpusDir, "golden", n+".json"))})
	}
	return out
}

func existing(p string) string {
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// TheirJSON is the oracle output for a case: the live tool when given, else
// the stored golden.
func TheirJSON(ctx context.Context, tool string, c Case) ([]byte, error) {
	if tool != "" {
		return oracle.Run(ctx, tool, c.Dump, c.Symbols...)
	}
	if c.Golden == "" {
		return nil, errors.New("no minidump-stackwalk and no golden output")
	}
	return os.ReadFile(c.Golden)
}

// Ours walks a case with crashstream's walker and returns its JSON.
func Ours(ctx context.Context, c Case) ([]byte, error) {
	b, err := os.ReadFile(c.Dump)
	if err != nil {
		return nil, err
	}
	d, err := minidump.Parse(b)
	if err != nil {
		return nil, err
	}
	sup, err := symbols.NewSupplier(symbols.Config{Paths: c.Symbols}, nil)
	if err != nil {
		return nil, err
	}
	res, err := stackwalk.Walk(ctx, d, sup, stackwalk.Options{})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf, false); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Frame holds the compared fields of one frame.
type Frame struct {
	Module         *string          `json:"module"`
	ModuleOffset   *string          `json:"module_offset"`
	Offset         string           `json:"offset"`
	Function       *string          `json:"function"`
	FunctionOffset *string          `json:"function_offset"`
	File           *string          `json:"file"`
	Line           *uint32          `json:"line"`
	Trust          string           `json:"trust"`
	MissingSymbols bool             `json:"missing_symbols"`
	Inlines        []map[string]any `json:"inlines"`
}

// Doc is the part of the JSON document the comparison reads.
type Doc struct {
	CrashInfo struct {
		CrashingThread *int `json:"crashing_thread"`
	} `json:"crash_info"`
	Threads []struct {
		Frames []Frame `json:"frames"`
	} `json:"threads"`
}

// Result counts agreement for one case.
type Result struct {
	Case string
	// CrashFrames is max(len(ours), len(theirs)) over the crashing thread;
	// CrashSame how many of those frames agree on every field.
	CrashFrames, CrashSame int
	// AllFrames/AllSame count every thread.
	AllFrames, AllSame int
	// InfoFields counts the crash_info keys of both documents and InfoSame
	// the equal ones; ModuleFields/ModuleSame the same over every field of
	// every modules[] entry.
	InfoFields, InfoSame     int
	ModuleFields, ModuleSame int
	// Diffs describes each disagreeing crashing-thread frame, crash_info
	// field and module field.
	Diffs []string
}

// Compare parses both documents and compares frames field by field.
func Compare(name string, ours, theirs []byte) (Result, error) {
	var a, b Doc
	if err := json.Unmarshal(ours, &a); err != nil {
		return Result{}, fmt.Errorf("ours: %w", err)
	}
	if err := json.Unmarshal(theirs, &b); err != nil {
		return Result{}, fmt.Errorf("theirs: %w", err)
	}
	r := Result{Case: name}
	if err := compareInfoAndModules(&r, ours, theirs); err != nil {
		return Result{}, err
	}
	if len(a.Threads) != len(b.Threads) {
		r.Diffs = append(r.Diffs, fmt.Sprintf("thread count: ours %d, theirs %d", len(a.Threads), len(b.Threads)))
	}
	crash := -1
	if b.CrashInfo.CrashingThread != nil {
		crash = *b.CrashInfo.CrashingThread
	}
	if !sameIntPtr(a.CrashInfo.CrashingThread, b.CrashInfo.CrashingThread) {
		r.Diffs = append(r.Diffs, "crash_info.crashing_thread differs")
	}
	for ti := 0; ti < max(len(a.Threads), len(b.Threads)); ti++ {
		var fa, fb []Frame
		if ti < len(a.Threads) {
			fa = a.Threads[ti].Frames
		}
		if ti < len(b.Threads) {
			fb = b.Threads[ti].Frames
		}
		n := max(len(fa), len(fb))
		same := 0
		for fi := 0; fi < n; fi++ {
			var x, y *Frame
			if fi < len(fa) {
				x = &fa[fi]
			}
			if fi < len(fb) {
				y = &fb[fi]
			}
			d := frameDiff(x, y)
			if d == "" {
				same++
			} else if ti == crash {
				r.Diffs = append(r.Diffs, fmt.Sprintf("frame %d: %s", fi, d))
			}
		}
		r.AllFrames += n
		r.AllSame += same
		if ti == crash {
			r.CrashFrames, r.CrashSame = n, same
		}
	}
	return r, nil
}

func sameIntPtr(a, b *int) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func frameDiff(a, b *Frame) string {
	switch {
	case a == nil:
		return "missing in ours: " + show(b)
	case b == nil:
		return "extra in ours: " + show(a)
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	if bytes.Equal(x, y) {
		return ""
	}
	return fmt.Sprintf("ours %s, theirs %s", x, y)
}

func show(f *Frame) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// compareInfoAndModules compares every crash_info key (instruction,
// memory_accesses, adjusted_address, possible_bit_flips,
// instruction_pointer_update, type, address, ...) and every field of every
// module, as JSON values.
func compareInfoAndModules(r *Result, ours, theirs []byte) error {
	type doc struct {
		CrashInfo map[string]json.RawMessage   `json:"crash_info"`
		Modules   []map[string]json.RawMessage `json:"modules"`
	}
	var a, b doc
	if err := json.Unmarshal(ours, &a); err != nil {
		return fmt.Errorf("ours: %w", err)
	}
	if err := json.Unmarshal(theirs, &b); err != nil {
		return fmt.Errorf("theirs: %w", err)
	}
	same := func(x, y json.RawMessage) bool {
		var vx, vy any
		return json.Unmarshal(x, &vx) == nil && json.Unmarshal(y, &vy) == nil && reflect.DeepEqual(vx, vy)
	}
	for _, k := range unionKeys(a.CrashInfo, b.CrashInfo) {
		r.InfoFields++
		x, okx := a.CrashInfo[k]
		y, oky := b.CrashInfo[k]
		if okx && oky && same(x, y) {
			r.InfoSame++
			continue
		}
		r.Diffs = append(r.Diffs, fmt.Sprintf("crash_info.%s: ours %s, theirs %s", k, x, y))
	}
	if len(a.Modules) != len(b.Modules) {
		r.Diffs = append(r.Diffs, fmt.Sprintf("module count: ours %d, theirs %d", len(a.Modules), len(b.Modules)))
	}
	for i := 0; i < max(len(a.Modules), len(b.Modules)); i++ {
		var x, y map[string]json.RawMessage
		if i < len(a.Modules) {
			x = a.Modules[i]
		}
		if i < len(b.Modules) {
			y = b.Modules[i]
		}
		for _, k := range unionKeys(x, y) {
			r.ModuleFields++
			vx, okx := x[k]
			vy, oky := y[k]
			if okx && oky && same(vx, vy) {
				r.ModuleSame++
				continue
			}
			r.Diffs = append(r.Diffs, fmt.Sprintf("modules[%d].%s: ours %s, theirs %s", i, k, vx, vy))
		}
	}
	return nil
}

func unionKeys(a, b map[string]json.RawMessage) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
