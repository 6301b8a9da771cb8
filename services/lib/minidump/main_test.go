package minidump_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/repotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func readShared(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repotest.SharedTestdata(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
