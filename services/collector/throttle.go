package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Result is a throttle decision, numbered as in Antenna because the digit
// of ACCEPT/DEFER (and FAKEACCEPT) ends up in the crash id.
type Result int

// Throttle results.
const (
	Accept     Result = 0 // store and process
	Defer      Result = 1 // store; kept for Antenna compatibility (processed too)
	Reject     Result = 2 // drop, answer Discarded=rule_<name>
	FakeAccept Result = 3 // answer a CrashID but drop (for clients that retry rejections forever)
	Continue   Result = 4 // fall through to the next rule
)

var resultNames = map[string]Result{"accept": Accept, "defer": Defer, "reject": Reject, "fakeaccept": FakeAccept, "continue": Continue}

// String is the lower-case name used in rules files and metrics.
func (r Result) String() string {
	for k, v := range resultNames {
		if v == r {
			return k
		}
	}
	return "unknown"
}

// RuleSpec is one rule as written in a rules file.
//
// Antenna semantics: a rule with Key "*" looks at the whole crash; any other
// key applies only when that annotation is present, and its condition sees
// the annotation's value. When the condition holds, the rule's Result is
// taken, or with Percentage set, Result with that probability
// (random*100 <= Percentage) and Otherwise else. Continue falls through;
// the first other result wins; when no rule decides, the crash is rejected
// as NO_MATCH.
type RuleSpec struct {
	Name       string    `yaml:"name" json:"name"`
	Key        string    `yaml:"key" json:"key"`
	When       Condition `yaml:"when" json:"when"`
	Result     string    `yaml:"result" json:"result"`
	Percentage *float64  `yaml:"percentage" json:"percentage"`
	Otherwise  string    `yaml:"otherwise" json:"otherwise"`
}

// Condition is a predicate on annotations. All the matchers set on one
// Condition must hold. Key switches to another annotation (inside a "*"
// rule, or to look at a neighbour); JSONPath reads a dotted path out of a
// value holding a JSON object (TelemetryEnvironment). An empty Condition is
// always true.
type Condition struct {
	Key      string `yaml:"key" json:"key"`
	JSONPath string `yaml:"json_path" json:"json_path"`
	// Exists: the annotation (or JSON path) is present / absent.
	Exists *bool `yaml:"exists" json:"exists"`
	// Equals / In / NotIn compare the value as a string; a missing value
	// compares as "" (Antenna's safe_get).
	Equals *string  `yaml:"equals" json:"equals"`
	In     []string `yaml:"in" json:"in"`
	NotIn  []string `yaml:"not_in" json:"not_in"`
	Prefix []string `yaml:"prefix" json:"prefix"`
	Regex  string   `yaml:"regex" json:"regex"`
	Less   *string  `yaml:"less_than" json:"less_than"`
	MaxNum *float64 `yaml:"max_number" json:"max_number"`
	// BuildIDOlderThanDays matches a BuildID (20YYMMDDhhmmss) whose date is
	// more than this many days before now.
	BuildIDOlderThanDays int         `yaml:"buildid_older_than_days" json:"buildid_older_than_days"`
	All                  []Condition `yaml:"all" json:"all"`
	Any                  []Condition `yaml:"any" json:"any"`
	Not                  *Condition  `yaml:"not" json:"not"`

	re *regexp.Regexp
}

// RulesFile is the document a rules file holds.
type RulesFile struct {
	Rules []RuleSpec `yaml:"rules" json:"rules"`
}

// AcceptAll is the default rule set: every crash is accepted.
func AcceptAll() []RuleSpec {
	return []RuleSpec{{Name: "accept_everything", Key: "*", Result: "accept"}}
}

var ruleNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// LoadRules reads and validates a rules file: .json files are JSON, any
// other extension YAML. Unknown fields are errors, so a typo in a rule
// fails start-up instead of silently matching everything.
func LoadRules(path string) ([]RuleSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f RulesFile
	if strings.EqualFold(filepath.Ext(path), ".json") {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		err = dec.Decode(&f)
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		err = dec.Decode(&f)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := NewThrottler(f.Rules, nil, nil); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f.Rules, nil
}

type rule struct {
	spec      RuleSpec
	result    Result
	otherwise Result
}

// Throttler decides, per crash, whether to keep it. It is immutable and safe
// for concurrent use.
type Throttler struct {
	rules  []rule
	random func() float64
	now    func() time.Time
}

// NewThrottler compiles rules. random returns a number in [0,1) and now
// the current time; nil means math/rand and time.Now (tests inject both).
func NewThrottler(specs []RuleSpec, random func() float64, now func() time.Time) (*Throttler, error) {
	if random == nil {
		random = rand.Float64
	}
	if now == nil {
		now = time.Now
	}
	if len(specs) == 0 {
		return nil, errors.New("no rules (use AcceptAll for the default)")
	}
	t := &Throttler{random: random, now: now}
	seen := map[string]bool{}
	for i, s := range specs {
		if !ruleNameRE.MatchString(s.Name) {
			return nil, fmt.Errorf("rule %d: name %q must be letters, digits and _", i, s.Name)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("rule %s: duplicate name", s.Name)
		}
		seen[s.Name] = true
		if s.Key == "" {
			return nil, fmt.Errorf("rule %s: key is required (an annotation name or *)", s.Name)
		}
		res, ok := resultNames[s.Result]
		if !ok {
			return nil, fmt.Errorf("rule %s: result %q is not one of accept, defer, reject, fakeaccept, continue", s.Name, s.Result)
		}
		r := rule{spec: s, result: res, otherwise: Continue}
		if s.Percentage != nil {
			if *s.Percentage < 0 || *s.Percentage > 100 {
				return nil, fmt.Errorf("rule %s: percentage %v is not in 0..100", s.Name, *s.Percentage)
			}
			if r.otherwise, ok = resultNames[s.Otherwise]; !ok {
				return nil, fmt.Errorf("rule %s: otherwise %q is not one of accept, defer, reject, fakeaccept, continue", s.Name, s.Otherwise)
			}
		} else if s.Otherwise != "" {
			return nil, fmt.Errorf("rule %s: otherwise needs a percentage", s.Name)
		} else if res == Continue {
			return nil, fmt.Errorf("rule %s: continue without a percentage never decides anything", s.Name)
		}
		if err := compile(&r.spec.When, s.Key == "*"); err != nil {
			return nil, fmt.Errorf("rule %s: %w", s.Name, err)
		}
		t.rules = append(t.rules, r)
	}
	return t, nil
}

func compile(c *Condition, needKey bool) error {
	hasMatcher := c.Exists != nil || c.Equals != nil || c.In != nil || c.NotIn != nil || c.Prefix != nil ||
		c.Regex != "" || c.Less != nil || c.MaxNum != nil || c.BuildIDOlderThanDays != 0 || c.JSONPath != ""
	if hasMatcher && needKey && c.Key == "" {
		return errors.New("a condition of a \"*\" rule must name its key")
	}
	if c.Regex != "" {
		re, err := regexp.Compile(c.Regex)
		if err != nil {
			return fmt.Errorf("regex %q: %w", c.Regex, err)
		}
		c.re = re
	}
	if c.BuildIDOlderThanDays < 0 {
		return errors.New("buildid_older_than_days must be positive")
	}
	sub := needKey && c.Key == ""
	for i := range c.All {
		if err := compile(&c.All[i], sub); err != nil {
			return err
		}
	}
	for i := range c.Any {
		if err := compile(&c.Any[i], sub); err != nil {
			return err
		}
	}
	if c.Not != nil {
		return compile(c.Not, sub)
	}
	return nil
}

// Decision is the throttler's answer for one crash.
type Decision struct {
	Result Result
	// Rule names the deciding rule, NO_MATCH when none did.
	Rule string
	// Percentage is the sampling rate of the deciding rule (100 when it
	// does not sample, 0 for NO_MATCH), kept in the raw crash.
	Percentage float64
}

// Throttle runs the rules over the annotations.
func (t *Throttler) Throttle(ann map[string]string) Decision {
	for _, r := range t.rules {
		var v value
		if r.spec.Key != "*" {
			s, ok := ann[r.spec.Key]
			if !ok {
				continue
			}
			v = value{s: s, ok: true}
		}
		if !r.spec.When.eval(ann, v, t.now) {
			continue
		}
		if r.spec.Percentage == nil {
			return Decision{Result: r.result, Rule: r.spec.Name, Percentage: 100}
		}
		res := r.otherwise
		if t.random()*100 <= *r.spec.Percentage {
			res = r.result
		}
		if res != Continue {
			return Decision{Result: res, Rule: r.spec.Name, Percentage: *r.spec.Percentage}
		}
	}
	return Decision{Result: Reject, Rule: "NO_MATCH", Percentage: 0}
}

type value struct {
	s  string
	ok bool
}

func (c *Condition) eval(ann map[string]string, cur value, now func() time.Time) bool {
	if c.Key != "" {
		s, ok := ann[c.Key]
		cur = value{s: s, ok: ok}
	}
	if c.JSONPath != "" {
		cur = jsonPath(cur, c.JSONPath)
	}
	if c.Exists != nil && cur.ok != *c.Exists {
		return false
	}
	if c.Equals != nil && cur.s != *c.Equals {
		return false
	}
	if c.In != nil && !contains(c.In, cur.s) {
		return false
	}
	if c.NotIn != nil && contains(c.NotIn, cur.s) {
		return false
	}
	if c.Prefix != nil && !hasAnyPrefix(cur.s, c.Prefix) {
		return false
	}
	if c.re != nil && !c.re.MatchString(cur.s) {
		return false
	}
	if c.Less != nil && !(cur.s < *c.Less) {
		return false
	}
	if c.MaxNum != nil {
		n, err := strconv.ParseFloat(cur.s, 64)
		if err != nil || n > *c.MaxNum {
			return false
		}
	}
	if c.BuildIDOlderThanDays > 0 && !buildIDOlderThan(cur.s, c.BuildIDOlderThanDays, now()) {
		return false
	}
	for i := range c.All {
		if !c.All[i].eval(ann, cur, now) {
			return false
		}
	}
	if len(c.Any) > 0 {
		any := false
		for i := range c.Any {
			if c.Any[i].eval(ann, cur, now) {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	if c.Not != nil && c.Not.eval(ann, cur, now) {
		return false
	}
	return true
}

var buildIDRE = regexp.MustCompile(`^20\d{12}$`)

func buildIDOlderThan(s string, days int, now time.Time) bool {
	if !buildIDRE.MatchString(s) {
		return false
	}
	d, err := time.Parse("20060102", s[:8])
	if err != nil {
		return false
	}
	return d.Before(now.AddDate(0, 0, -days))
}

// jsonPath reads a dotted path from a JSON object value. Strings come out
// as-is, other scalars as their JSON text; objects, arrays and anything
// unparsable count as missing.
func jsonPath(v value, path string) value {
	if !v.ok {
		return value{}
	}
	var cur any
	if err := json.Unmarshal([]byte(v.s), &cur); err != nil {
		return value{}
	}
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return value{}
		}
		if cur, ok = m[p]; !ok {
			return value{}
		}
	}
	switch x := cur.(type) {
	case string:
		return value{s: x, ok: true}
	case float64, bool:
		b, _ := json.Marshal(x)
		return value{s: string(b), ok: true}
	}
	return value{}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
