package repotest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRootHoldsGoWork(t *testing.T) {
	root := Root(t)
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("root %s has no go.work: %v", root, err)
	}
	if p := FindSharedTestdata(); p != "" && filepath.Dir(p) != filepath.Join(filepath.Dir(root), "shared") {
		t.Fatalf("shared test data %s is not beside the root %s", p, root)
	}
}

// TestOutsideTheRepository: from a directory with no go.work above it,
// nothing is found.
func TestOutsideTheRepository(t *testing.T) {
	t.Chdir(t.TempDir())
	if root := FindRoot(); root != "" {
		t.Skipf("a go.work above the temporary directory (%s)", root)
	}
	if p := FindSharedTestdata(); p != "" {
		t.Fatalf("FindSharedTestdata found %q outside the repository", p)
	}
}
