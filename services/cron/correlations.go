package cron

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// CorrelationPrecomputer stores the day's correlations of the top
// signatures; *clickhouse.Correlator implements it.
type CorrelationPrecomputer interface {
	Precompute(ctx context.Context, day time.Time, top int) (int, error)
}

// Correlations precomputes, once a day, the correlations of the top
// signatures of each product (and of each product and channel) over the
// 7 days ending with the day that just closed, so the signature report's
// Correlations tab answers them without computing; other signatures and
// windows are computed when asked. Only the latest day matters, so missed
// days are not backfilled.
func Correlations(c CorrelationPrecomputer, top int, log zerolog.Logger) Job {
	return NewJob("correlations", 24*time.Hour, false, func(ctx context.Context, day time.Time) error {
		start := time.Now()
		n, err := c.Precompute(ctx, day, top)
		if err != nil {
			return err
		}
		log.Info().Time("day", day).Int("signatures", n).Dur("took", time.Since(start)).Msg("correlations: precomputed")
		return nil
	})
}
