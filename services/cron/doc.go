// Package cron is crashstream's housekeeping: Socorro's cronrun for a
// streaming pipeline. A Runner runs jobs on fixed periods, records for each
// its last run, last success and last error, backfills (a job that missed
// periods runs once per missed period, oldest first, and stops at the first
// failure so nothing is skipped), retries failures with exponential
// backoff, and holds a lease per job so that several runners — replicas,
// or an operator's `crashstream cron run` — never run one job at once.
//
// State and leases live in the object store (cron/state/<job>.json,
// cron/locks/<job>.json). Leases use the store's conditional writes (create
// if absent, replace if unchanged), which S3 and MinIO evaluate atomically;
// a lease expires if its holder dies, and is renewed while a job runs. A
// runner that loses its lease (paused longer than the lease) stops the job
// at the next renewal; jobs are written to be safe to repeat for a period.
package cron
