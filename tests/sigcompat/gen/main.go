// Command gen writes the crash_data inputs of the signature oracle
// comparison: stacks of real dumps, and generated frame lists meant to hit
// every rule and every signature list. It is deterministic for a seed and a
// tree, so the inputs are not committed: TestOracle and bench.sh make them
// afresh on each run (a second or two), from the goldens in the tree.
//
//	go run ./sigcompat/gen -seed 7 -out /tmp/inputs.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
)

func main() {
	seed := flag.Uint64("seed", 7, "random seed")
	out := flag.String("out", "inputs.jsonl", "output JSON lines file")
	root := flag.String("root", "", "repository root (default: found by walking up to go.work)")
	flag.Parse()
	if err := run(*seed, *out, *root); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(seed uint64, out, root string) error {
	if root == "" {
		var err error
		if root, err = findRoot(); err != nil {
			return err
		}
	}
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed^0x5ca1ab1e)), root: root}
	if err := g.loadLists(); err != nil {
		return err
	}
	if err := g.realStacks(); err != nil {
		return err
	}
	g.synthetic()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, c := range g.cases {
		c.data["sigcompat_case"] = c.id
		b, err := json.Marshal(c.data)
		if err != nil {
			return fmt.Errorf("%s: %w", c.id, err)
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: %d inputs; list entries hit: %s\n", len(g.cases), g.coverage())
	return nil
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.work above the working directory")
		}
		dir = parent
	}
}

type obj = map[string]any

type testCase struct {
	id   string
	data obj
}

type listEntry struct {
	line    string
	re      *regexp.Regexp
	samples []string
	hit     bool
}

type gen struct {
	rng   *rand.Rand
	root  string
	cases []testCase
	n     map[string]int
	lists map[string][]*listEntry
}

func (g *gen) add(kind string, data obj) {
	if g.n == nil {
		g.n = map[string]int{}
	}
	g.n[kind]++
	g.cases = append(g.cases, testCase{id: fmt.Sprintf("%s/%d", kind, g.n[kind]), data: data})
}

func (g *gen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }
func (g *gen) chance(p float64) bool   { return g.rng.Float64() < p }

// --- signature lists -----------------------------------------------------

var listFiles = map[string]string{
	"irrelevant": "irrelevant_signature_re.txt",
	"prefix":     "prefix_signature_re.txt",
	"sentinels":  "signature_sentinels.txt",
	"lines":      "signatures_with_line_numbers_re.txt",
}

func (g *gen) loadLists() error {
	g.lists = map[string][]*listEntry{}
	dir := filepath.Join(g.root, "services/lib/signature/siglists")
	// In a fixed order: sampling draws from the random source, so map order
	// would make the inputs differ from run to run.
	names := make([]string, 0, len(listFiles))
	for name := range listFiles {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, listFiles[name]))
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			e := &listEntry{line: line}
			if name == "sentinels" {
				e.samples = []string{line}
			} else {
				e.re = regexp.MustCompile(`^(?:` + line + `)`)
				e.samples = g.samplesFor(e)
			}
			g.lists[name] = append(g.lists[name], e)
		}
	}
	return nil
}

// samplesFor builds strings the entry matches, by walking its regex syntax
// tree with a few choices, and keeps those that really match.
func (g *gen) samplesFor(e *listEntry) []string {
	re, err := syntax.Parse(e.line, syntax.Perl)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for i := 0; i < 6; i++ {
		var b strings.Builder
		sampleRegex(&b, re, i, g.rng)
		s := b.String()
		if s == "" || seen[s] || !e.re.MatchString(s) {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

func sampleRegex(b *strings.Builder, re *syntax.Regexp, variant int, rng *rand.Rand) {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		if len(re.Rune) >= 2 {
			lo, hi := re.Rune[0], re.Rune[1]
			r := lo
			if variant > 0 && hi > lo {
				r = lo + rune(rng.IntN(int(min(hi-lo, 25))+1))
			}
			b.WriteRune(r)
		}
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		if variant > 0 {
			b.WriteString([]string{"", "js::", "my_", "Foo"}[variant%4])
		}
	case syntax.OpStar, syntax.OpQuest:
		if variant%2 == 1 {
			sampleRegex(b, re.Sub[0], variant, rng)
		}
	case syntax.OpPlus:
		sampleRegex(b, re.Sub[0], variant, rng)
	case syntax.OpRepeat:
		for i := 0; i < max(re.Min, 1); i++ {
			sampleRegex(b, re.Sub[0], variant, rng)
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			sampleRegex(b, s, variant, rng)
		}
	case syntax.OpAlternate:
		sampleRegex(b, re.Sub[(variant+rng.IntN(len(re.Sub)))%len(re.Sub)], variant, rng)
	case syntax.OpCapture:
		sampleRegex(b, re.Sub[0], variant, rng)
	}
}

// listFrame returns a frame text from a list, marking the entry as hit.
func (g *gen) listFrame(list string) string {
	entries := g.lists[list]
	for tries := 0; tries < 20; tries++ {
		e := entries[g.rng.IntN(len(entries))]
		if len(e.samples) == 0 {
			continue
		}
		e.hit = true
		s := g.pick(e.samples)
		if list != "sentinels" && g.chance(0.3) && !strings.Contains(e.line, "$") {
			s += g.pick([]string{"Impl", "::Run", "_internal", "<T>::get"})
		}
		return s
	}
	return "fallback_frame"
}

func (g *gen) coverage() string {
	names := make([]string, 0, len(g.lists))
	for n := range g.lists {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		hit, sampled := 0, 0
		for _, e := range g.lists[n] {
			if len(e.samples) > 0 {
				sampled++
			}
			if e.hit {
				hit++
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d (sampleable %d)", n, hit, len(g.lists[n]), sampled))
	}
	return strings.Join(parts, ", ")
}

// --- real stacks ---------------------------------------------------------

// realStacks adds the stacks of real dumps: the golden minidump-stackwalk
// output in ../shared/testdata, siggen's Windows example, and any
// stackwalk or processed-crash JSON under tests/corpus.
func (g *gen) realStacks() error {
	var dumps []obj
	snap := filepath.Join(g.root, "../shared/testdata/rust-minidump/minidump2.stackwalk.json.snap")
	if b, err := os.ReadFile(snap); err == nil {
		if i := strings.Index(string(b), "\n{"); i >= 0 {
			var d obj
			if err := json.Unmarshal(b[i+1:], &d); err != nil {
				return fmt.Errorf("%s: %w", snap, err)
			}
			dumps = append(dumps, d)
		}
	}
	var examples []obj
	ex := filepath.Join(g.root, "../shared/testdata/siggen/windows-wait-frames.crash_data.json")
	if b, err := os.ReadFile(ex); err == nil {
		var d obj
		if err := json.Unmarshal(b, &d); err != nil {
			return err
		}
		examples = append(examples, d)
	}
	// Stackwalker output for the Breakpad test dumps, and whatever the
	// corpus holds.
	walk := func(dir string) {
		_ = filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() || !strings.HasSuffix(path, ".json") {
				if de != nil && de.IsDir() && (de.Name() == "target" || de.Name() == "src") {
					return filepath.SkipDir
				}
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil || len(b) > 64<<20 {
				return nil
			}
			var d obj
			if json.Unmarshal(b, &d) != nil {
				return nil
			}
			if jd, ok := d["json_dump"].(obj); ok {
				dumps = append(dumps, jd)
			} else if _, ok := d["threads"]; ok {
				dumps = append(dumps, d)
			}
			return nil
		})
	}
	// The Linux dumps' goldens are stackwalkcompat's (one copy); the
	// Windows dumps' outputs, which stackwalkcompat does not compare, are
	// here.
	walk(filepath.Join(g.root, "tests/stackwalkcompat/testdata/golden"))
	walk(filepath.Join(g.root, "tests/sigcompat/testdata/stackwalk"))
	walk(filepath.Join(g.root, "tests/corpus"))
	for _, d := range examples {
		g.add("real-siggen-example", clone(d))
		for i := 0; i < 10; i++ {
			v := clone(d)
			frames := threadFrames(v, 0)
			cut := g.rng.IntN(len(frames)) + 1
			setFrames(v, 0, frames[g.rng.IntN(cut):])
			if g.chance(0.5) {
				v["os"] = "Linux"
			}
			g.add("real-siggen-example-variant", v)
		}
	}
	for _, d := range dumps {
		g.fromStackwalk(d)
	}
	return nil
}

// fromStackwalk turns one stackwalker output into several inputs: the
// processed-crash form, crash_data for each thread, and trimmed variants.
func (g *gen) fromStackwalk(d obj) {
	// Only the first 40 frames (inlines counted) of a thread can matter,
	// and the signature reads nothing of json_dump but crash_info,
	// system_info and threads: trim the rest to keep the inputs small.
	d = obj{"crash_info": d["crash_info"], "system_info": d["system_info"], "threads": d["threads"],
		"crashing_thread": d["crashing_thread"]}
	if ts, ok := d["threads"].([]any); ok {
		for _, t := range ts {
			if tm, ok := t.(obj); ok {
				if fs, ok := tm["frames"].([]any); ok && len(fs) > 45 {
					tm["frames"] = fs[:45]
				}
			}
		}
	}
	if ct, ok := d["crashing_thread"].(obj); ok {
		if fs, ok := ct["frames"].([]any); ok && len(fs) > 45 {
			ct["frames"] = fs[:45]
		}
	}
	g.add("real-processed", obj{"json_dump": clone(d)})
	threads, _ := d["threads"].([]any)
	osName, _ := getPath(d, "system_info", "os").(string)
	reason := getPath(d, "crash_info", "type")
	for i := range threads {
		cd := obj{"os": osName, "crashing_thread": i, "threads": clone(threads), "reason": reason}
		g.add("real-thread", cd)
		frames := threadFrames(cd, i)
		for k := 0; k < 3 && len(frames) > 0; k++ {
			v := clone(cd)
			setFrames(v, i, frames[g.rng.IntN(len(frames)):])
			if g.chance(0.3) {
				v["os"] = "Windows NT"
			}
			g.add("real-thread-variant", v)
		}
	}
	if ct, ok := d["crashing_thread"].(obj); ok {
		frames, _ := ct["frames"].([]any)
		for k := 0; k < 8; k++ {
			// Real frames on top of generated ones: the real stack decides
			// once the generated part is irrelevant.
			var fs []any
			for j := 0; j < g.rng.IntN(4); j++ {
				fs = append(fs, g.frame())
			}
			// Frames past the 40th cannot matter; keep the file small.
			fs = append(fs, clone(frames[:min(len(frames), 45)])...)
			g.add("real-mixed", obj{"os": osName, "crashing_thread": 0, "threads": []any{obj{"frames": fs}}})
		}
	}
}

func getPath(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(obj)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func threadFrames(d obj, i int) []any {
	ts, _ := d["threads"].([]any)
	if i >= len(ts) {
		return nil
	}
	t, _ := ts[i].(obj)
	fs, _ := t["frames"].([]any)
	return fs
}

func setFrames(d obj, i int, frames []any) {
	ts := d["threads"].([]any)
	t := ts[i].(obj)
	t["frames"] = frames
}

func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
