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

func TestSplitModuleKeyInvertsModuleKey(t *testing.T) {
	file, id, ok := SplitModuleKey(ModuleKey("C:/x/test_app.pdb", "5a98"))
	if !ok || file != "C:/x/test_app.pdb" || id != "5A98" {
		t.Fatalf("got %q %q %v", file, id, ok)
	}
	for _, bad := range []string{"", "/ID", "file/", "noslash"} {
		if _, _, ok := SplitModuleKey(bad); ok {
			t.Errorf("%q: want not ok", bad)
		}
	}
}
