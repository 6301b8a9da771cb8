package cron

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ClickHouseVersions lists products and versions from the crashes table.
type ClickHouseVersions struct {
	Conn     driver.Conn
	Database string
}

// Versions implements VersionLister. Duplicate rows of reprocessed crashes
// only inflate counts slightly; the catalogue needs presence and recency.
func (c ClickHouseVersions) Versions(ctx context.Context, since time.Time) ([]Version, error) {
	rows, err := c.Conn.Query(ctx, fmt.Sprintf("SELECT product, version, any(release_channel), count(), max(submitted_timestamp) "+
		"FROM %s.crashes WHERE submitted_timestamp >= ? AND product != '' GROUP BY product, version "+
		"ORDER BY product, max(submitted_timestamp) DESC LIMIT 1000", c.Database), since.UTC())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		if err := rows.Scan(&v.Product, &v.Version, &v.Channel, &v.Crashes, &v.Last); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
