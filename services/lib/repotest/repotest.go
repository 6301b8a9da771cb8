// Package repotest finds, for the tests of every module, the repository
// root (the directory holding go.work) and the shared test data that sits
// beside the checkout (../shared/testdata: real minidumps, symbol files and
// the peers' stored outputs). It depends on the standard library only.
package repotest

import (
	"os"
	"path/filepath"
	"testing"
)

// FindRoot returns the repository root above the working directory, or ""
// when no directory above it holds go.work.
func FindRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// FindSharedTestdata returns ../shared/testdata beside the repository root,
// or "" when it is not there (for tests and fuzz seeds that use it when
// present).
func FindSharedTestdata() string {
	root := FindRoot()
	if root == "" {
		return ""
	}
	p := filepath.Join(root, "..", "shared", "testdata")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// Root is FindRoot for a test that cannot run outside the repository: it
// fails the test when there is no root.
func Root(t testing.TB) string {
	t.Helper()
	root := FindRoot()
	if root == "" {
		t.Fatal("go.work not found above the test")
	}
	return root
}

// SharedTestdata is FindSharedTestdata for a test that needs the data: it
// skips the test when the data is not there.
func SharedTestdata(t testing.TB) string {
	t.Helper()
	if p := FindSharedTestdata(); p != "" {
		return p
	}
	t.Skip("shared test data (../shared/testdata beside the repository) not found")
	return ""
}
