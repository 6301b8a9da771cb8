package signature

import (
	"embed"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"regexp/syntax"
	"strings"
)

// The default signature lists are Socorro's, as shipped with siggen
// 2.2.20241029 (MPL-2.0; see siglists/NOTICE). They are embedded so that the
// binary works alone, and the same file names are read from a directory when
// an operator wants to tune them without a rebuild.
//
//go:embed siglists/*.txt
var defaultListFS embed.FS

// List file names, the same as Socorro's and siggen's, so that a directory
// prepared for `signify --signature-list-dir` works here too.
const (
	IrrelevantFile  = "irrelevant_signature_re.txt"
	PrefixFile      = "prefix_signature_re.txt"
	LineNumbersFile = "signatures_with_line_numbers_re.txt"
	SentinelsFile   = "signature_sentinels.txt"
)

// maxListFileSize bounds a list file read from an operator's directory.
const maxListFileSize = 4 << 20

// Lists are the tunable parts of C/C++/Rust signature generation.
//
// The regex lists are Python regular expressions joined with "|" and matched
// at the start of a normalized frame only (Python's re.match). They are
// translated to RE2 once, at load, so that a list Go cannot honour fails at
// start-up with the file and line rather than at the first crash.
type Lists struct {
	// Irrelevant frames are skipped while building the signature.
	Irrelevant *RegexList
	// Prefix frames are kept and the walk goes on to the next frame.
	Prefix *RegexList
	// LineNumbers are functions that get ":<line>" appended.
	LineNumbers *RegexList
	// Sentinels are exact frame strings; the signature starts at the
	// earliest one found in the stack.
	Sentinels []string
	// Source says where the lists came from, for notes and logs.
	Source string
}

// Config selects the signature lists.
type Config struct {
	// ListDir is a directory holding the four list files; empty means the
	// embedded defaults.
	ListDir string
}

// RegisterFlags registers signature.list-dir.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ListDir, "signature.list-dir", "",
		"directory with the signature list files (irrelevant_signature_re.txt, prefix_signature_re.txt, "+
			"signature_sentinels.txt, signatures_with_line_numbers_re.txt); empty uses the built-in lists")
}

// Validate checks that the list directory, if set, exists.
func (c Config) Validate() error {
	if err := CheckListDir(c.ListDir); err != nil {
		return fmt.Errorf("-signature.list-dir: %w", err)
	}
	return nil
}

// CheckListDir checks that dir, if not empty, is a directory, so that a
// typo fails at start-up rather than at the first crash.
func CheckListDir(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// Load returns the lists the config selects.
func (c Config) Load() (*Lists, error) {
	if c.ListDir == "" {
		return DefaultLists()
	}
	return LoadLists(c.ListDir)
}

// DefaultLists returns the embedded lists.
func DefaultLists() (*Lists, error) {
	sub, err := fs.Sub(defaultListFS, "siglists")
	if err != nil {
		return nil, err
	}
	return loadLists(sub, "included signature lists")
}

// LoadLists reads the four list files from dir.
func LoadLists(dir string) (*Lists, error) {
	return loadLists(os.DirFS(dir), "signature lists from "+dir)
}

func loadLists(fsys fs.FS, source string) (*Lists, error) {
	l := &Lists{Source: source}
	var err error
	if l.Irrelevant, err = loadRegexList(fsys, IrrelevantFile); err != nil {
		return nil, err
	}
	if l.Prefix, err = loadRegexList(fsys, PrefixFile); err != nil {
		return nil, err
	}
	if l.LineNumbers, err = loadRegexList(fsys, LineNumbersFile); err != nil {
		return nil, err
	}
	// Sentinels are compared as plain strings, but Socorro still rejects a
	// line that is not a valid regex; keep that check so a list accepted
	// here is accepted there.
	if l.Sentinels, err = readListLines(fsys, SentinelsFile); err != nil {
		return nil, err
	}
	return l, nil
}

// readListLines returns the non-empty, non-comment lines, each trimmed and
// checked to be a regular expression Go can run.
func readListLines(fsys fs.FS, name string) ([]string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("signature list %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxListFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("signature list %s: %w", name, err)
	}
	if len(data) > maxListFileSize {
		return nil, fmt.Errorf("signature list %s: larger than %d bytes", name, maxListFileSize)
	}
	var lines []string
	for i, line := range strings.Split(string(data), "\n") {
		line = pyStrip(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := regexp.Compile(translatePythonRegex(line)); err != nil {
			return nil, fmt.Errorf("signature list %s line %d: %q: %w", name, i+1, line, err)
		}
		lines = append(lines, line)
	}
	return lines, nil
}

func loadRegexList(fsys fs.FS, name string) (*RegexList, error) {
	lines, err := readListLines(fsys, name)
	if err != nil {
		return nil, err
	}
	l, err := NewRegexList(lines)
	if err != nil {
		return nil, fmt.Errorf("signature list %s: %w", name, err)
	}
	return l, nil
}

// RegexList answers whether a frame matches any of a list's Python
// regexes at its start, as Socorro's re.match over the "|"-joined list does.
//
// One big RE2 alternation of ~300 entries is slow (the NFA carries every
// alternative through every byte), so each entry is kept apart with its
// literal prefix: entries that are plain literals are a prefix test, the
// others run only when their literal prefix is there. For a yes/no answer
// this is the same as the alternation.
type RegexList struct {
	entries []listRegex
	// byFirst indexes the entries with a literal prefix by its first
	// byte; unprefixed lists the others, which every frame must try.
	byFirst    [256][]int32
	unprefixed []int32
	// all is set for an empty list, which matches everything: the joined
	// pattern of no lines is "", as in Socorro.
	all bool
}

type listRegex struct {
	prefix string         // literal start every match has
	re     *regexp.Regexp // nil when prefix (or contains) is the whole pattern
	// contains is, for ".*<rest>" entries, a literal every match holds
	// before its first newline; with re nil it is the whole test.
	contains string
}

// NewRegexList compiles Python regexes (translated to RE2).
func NewRegexList(patterns []string) (*RegexList, error) {
	l := &RegexList{all: len(patterns) == 0}
	for _, p := range patterns {
		re, err := regexp.Compile(`^(?:` + translatePythonRegex(p) + `)`)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", p, err)
		}
		prefix, complete := re.LiteralPrefix()
		e := listRegex{prefix: prefix}
		if !complete {
			e.re = re
			if lit, whole := anyPrefixLiteral(translatePythonRegex(p)); lit != "" {
				e.contains = lit
				if whole {
					e.re = nil
				}
			}
		}
		i := int32(len(l.entries))
		l.entries = append(l.entries, e)
		if e.prefix == "" {
			l.unprefixed = append(l.unprefixed, i)
		} else {
			l.byFirst[e.prefix[0]] = append(l.byFirst[e.prefix[0]], i)
		}
	}
	return l, nil
}

// MatchString reports whether s starts with a match of any entry.
func (l *RegexList) MatchString(s string) bool {
	if l.all {
		return true
	}
	if s != "" && l.matchAny(s, l.byFirst[s[0]]) {
		return true
	}
	return l.matchAny(s, l.unprefixed)
}

func (l *RegexList) matchAny(s string, idx []int32) bool {
	for _, i := range idx {
		e := &l.entries[i]
		if !strings.HasPrefix(s, e.prefix) {
			continue
		}
		if e.contains != "" {
			line, _, _ := strings.Cut(s, "\n")
			if !strings.Contains(line, e.contains) {
				continue
			}
		}
		if e.re == nil || e.re.MatchString(s) {
			return true
		}
	}
	return false
}

// anyPrefixLiteral looks at a pattern of the form ".*<rest>" (several list
// entries are, e.g. ".*abort"): it returns the literal <rest> must start
// with, and whether <rest> is nothing but that literal, in which case a
// match is exactly "the literal occurs before the first newline". The
// backtracking such entries need otherwise dominated signature generation.
func anyPrefixLiteral(pattern string) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return "", false
	}
	first := re.Sub[0]
	if first.Op != syntax.OpStar || first.Sub[0].Op != syntax.OpAnyCharNotNL {
		return "", false
	}
	rest := &syntax.Regexp{Op: syntax.OpConcat, Sub: re.Sub[1:], Flags: re.Flags}
	restRe, err := regexp.Compile(rest.String())
	if err != nil {
		return "", false
	}
	lit, complete := restRe.LiteralPrefix()
	if strings.Contains(lit, "\n") {
		return "", false
	}
	return lit, complete
}

// translatePythonRegex rewrites the Python regex constructs whose meaning
// differs in RE2 so that a match gives the same answer:
//   - `$` also matches before a final newline in Python: `(?:\n?\z)` (a match
//     here is only a yes/no, so consuming the newline is harmless);
//   - `\Z` is RE2's `\z`;
//   - `\d`, `\w`, `\s` (and their negations) are Unicode-aware in Python 3.
//
// Everything else is passed through; constructs RE2 lacks (lookaround,
// backreferences) then fail to compile and are reported with their line.
func translatePythonRegex(p string) string {
	const (
		pyWord  = `\p{L}\p{N}_`
		pySpace = `\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`
	)
	var b strings.Builder
	inClass := false
	classStart := 0 // position in p right after "[" or "[^"
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			e := p[i+1]
			i++
			switch e {
			case 'd':
				b.WriteString(`\p{Nd}`)
			case 'D':
				b.WriteString(`\P{Nd}`)
			case 'w':
				if inClass {
					b.WriteString(pyWord)
				} else {
					b.WriteString(`[` + pyWord + `]`)
				}
			case 'W':
				if inClass {
					// A negated class inside a class cannot be spelled in
					// RE2; fall back to the ASCII meaning.
					b.WriteString(`\W`)
				} else {
					b.WriteString(`[^` + pyWord + `]`)
				}
			case 's':
				if inClass {
					b.WriteString(pySpace)
				} else {
					b.WriteString(`[` + pySpace + `]`)
				}
			case 'S':
				if inClass {
					b.WriteString(`\S`)
				} else {
					b.WriteString(`[^` + pySpace + `]`)
				}
			case 'Z':
				b.WriteString(`\z`)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			continue
		}
		switch {
		case inClass:
			if c == ']' && i > classStart {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			classStart = i + 1
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
				classStart = i + 1
			}
		case c == '$':
			b.WriteString(`(?:\n?\z)`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
