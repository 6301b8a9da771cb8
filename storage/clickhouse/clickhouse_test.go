package clickhouse

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stackDB connects to the real ClickHouse (CRASHSTREAM_STACK=1; address
// from CRASHSTREAM_CLICKHOUSE_ADDR, default the stack's 127.0.0.1:19000),
// migrates a database unique to the test and drops it afterwards.
func stackDB(t *testing.T) (driver.Conn, string) {
	t.Helper()
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the real stack: make up, then CRASHSTREAM_STACK=1")
	}
	return migrated(t, testConfig())
}

func testConfig() Config {
	addr := os.Getenv("CRASHSTREAM_CLICKHOUSE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:19000"
	}
	// CRASHSTREAM_CLICKHOUSE_PROTOCOL=http runs the suite through the HTTP
	// protocol (the current-engine lane, tests/chdb, serves only HTTP).
	return Config{Addr: addr, Protocol: os.Getenv("CRASHSTREAM_CLICKHOUSE_PROTOCOL"), Database: "crashstream", Username: "default",
		DialTimeout: 5 * time.Second, QueryTimeout: 60 * time.Second, MaxOpenConns: 4}
}

func testTable(t *testing.T) *Table {
	t.Helper()
	tab, err := NewTable(fields.New())
	require.NoError(t, err)
	return tab
}

// testWriter is a Writer of the test table into db that makes attempts
// tries per batch with millisecond backoffs.
func testWriter(t *testing.T, conn driver.Conn, db string, attempts int) (*Table, *Writer) {
	t.Helper()
	tab := testTable(t)
	w, err := NewWriter(conn, db, tab, WriterConfig{MaxAttempts: attempts, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	require.NoError(t, err)
	return tab, w
}

func ptr[T any](v T) *T { return &v }

// crashID builds a valid-looking crash id for day with a distinct prefix.
func crashID(n int, day time.Time) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%05x0%s", n, n&0xfffff, day.UTC().Format("060102"))
}

// testCrash returns a processed crash submitted at sub and processed at proc.
func testCrash(n int, sub, proc time.Time, product, sig string) *schemas.ProcessedCrash {
	id := crashID(n, sub)
	return &schemas.ProcessedCrash{
		CrashID: id, UUID: id, SubmittedTimestamp: sub, DateProcessed: proc,
		Product: product, Version: "130.0", ReleaseChannel: "release", ProcessType: "parent",
		OSName: "Windows NT", Signature: sig, Build: ptr(int64(20260101000000 + n%3)),
		Uptime: ptr(int64(n % 120)), StartupCrash: ptr(n%4 == 0), InstallTime: ptr(int64(1700000000 + n%7)),
		ModulesInStack: []string{"xul.dll/ABC", "ntdll.dll/DEF"}, Addons: []string{"a@b:1.0"},
		UserComments: "secret comment", URL: "https://example.com/private",
	}
}
