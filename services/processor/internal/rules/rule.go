package rules

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// Rule is one step of a ruleset.
type Rule interface {
	// Name identifies the rule in notes and metrics.
	Name() string
	// Apply updates the crash. It returns an error to have the failure
	// noted; the remaining rules run regardless.
	Apply(ctx context.Context, c *Crash) error
}

// Ruleset is a named, ordered list of rules.
type Ruleset struct {
	Name  string
	Rules []Rule
}

// Observer receives each rule's duration and outcome, for metrics.
type Observer func(rule string, d time.Duration, err error)

// Run applies every rule in order. Errors and panics of a rule become a
// note ("<rule>: <error>") and never stop the rest. At the end the notes are
// joined into ProcessorNotes.
func (rs Ruleset) Run(ctx context.Context, c *Crash, observe Observer) {
	for _, r := range rs.Rules {
		start := time.Now()
		err := applySafely(ctx, r, c)
		if err != nil {
			c.Note(fmt.Sprintf("%s: %v", r.Name(), err))
		}
		if observe != nil {
			observe(r.Name(), time.Since(start), err)
		}
	}
	c.Processed.ProcessorNotes = strings.Join(c.notes, "; ")
}

func applySafely(ctx context.Context, r Rule, c *Crash) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v (%s)", p, firstFrames(debug.Stack()))
		}
	}()
	return r.Apply(ctx, c)
}

// firstFrames keeps the panic site from a stack dump, for the note.
func firstFrames(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if strings.Contains(l, "panic(") && i+3 < len(lines) {
			return strings.TrimSpace(lines[i+3])
		}
	}
	return "unknown site"
}

// ruleFunc adapts a function to Rule.
type ruleFunc struct {
	name string
	fn   func(ctx context.Context, c *Crash) error
}

func (r ruleFunc) Name() string                              { return r.name }
func (r ruleFunc) Apply(ctx context.Context, c *Crash) error { return r.fn(ctx, c) }

// Func makes a Rule from a name and a function.
func Func(name string, fn func(ctx context.Context, c *Crash) error) Rule {
	return ruleFunc{name, fn}
}
