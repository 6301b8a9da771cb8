package protocol

import "testing"

func TestIsRuleset(t *testing.T) {
	for _, name := range Rulesets() {
		if !IsRuleset(name) {
			t.Errorf("IsRuleset(%q) = false", name)
		}
	}
	for _, name := range []string{"", "Default", "nope"} {
		if IsRuleset(name) {
			t.Errorf("IsRuleset(%q) = true", name)
		}
	}
}
