package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/stretchr/testify/require"
)

// The setting 18.16 needs for LowCardinality is unknown to releases from 19.3
// on (current ones answer Code 115): it goes only to older servers.
func TestSessionSettingsByVersion(t *testing.T) {
	for _, tc := range []struct {
		v    proto.Version
		want bool
	}{
		{proto.Version{Major: 18, Minor: 16, Patch: 1}, true},
		{proto.Version{Major: 19, Minor: 1}, true},
		{proto.Version{Major: 19, Minor: 3}, false},
		{proto.Version{Major: 24, Minor: 8}, false},
		{proto.Version{Major: 26, Minor: 9}, false},
	} {
		s := SessionSettings(tc.v)
		_, has := s["allow_experimental_low_cardinality_type"]
		require.Equal(t, tc.want, has, "%d.%d", tc.v.Major, tc.v.Minor)
	}
}

func TestConfigValidateProtocol(t *testing.T) {
	c := testConfig()
	for _, p := range []string{"", "native", "http"} {
		c.Protocol = p
		require.NoError(t, c.Validate(), p)
	}
	c.Protocol = "grpc"
	require.ErrorContains(t, c.Validate(), "-clickhouse.protocol")
}

// On the stack's 18.16 Open keeps the LowCardinality setting, so the
// migrations (which create LowCardinality columns) go through.
func TestOpenOldServerKeepsSetting(t *testing.T) {
	conn, db := stackDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := conn.ServerVersion()
	require.NoError(t, err)
	if v.Version.Major < 19 {
		var got string
		require.NoError(t, conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'allow_experimental_low_cardinality_type'").Scan(&got))
		require.Equal(t, "1", got)
	}
	var n uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ?", db).Scan(&n))
	require.NotZero(t, n)
}
