// Package alerts tells people when crashes change: rules read from a YAML
// file, evaluated from ClickHouse's crash counts, each firing recorded
// once in the object store and posted to webhooks (a generic JSON body or
// a Slack incoming-webhook message). Socorro has no alerts; release
// managers watch top crashers by hand.
//
// A rule compares two adjacent windows of one product (optionally one
// version): new_in_top (a signature in the current top N that was not in
// the previous top N), signature_spike (a signature's count at least k
// times its previous count and at least a minimum) and volume_spike (the
// same for every crash). Each has a window, its threshold and a cooldown.
//
// The cron job "alerts" evaluates the rules every few minutes. The
// evaluation time is the end of the job's period, so evaluators of one
// period agree on it. Each firing is claimed with a conditional write of
// its subject's state (create if absent, replace if unchanged): of two
// cron replicas evaluating at once exactly one wins and sends; a subject
// stays quiet for its rule's cooldown after a claim. Deliveries run at
// once (a slow webhook holds no other up), each retried with the shared
// backoff policy within a bound. The claimant holds a lease on the
// firing's record while it delivers; a delivery that still failed, or
// that a replica dying mid-way left pending, is taken over (a conditional
// write of the record, so by one evaluator) and tried again at each
// evaluation for RedeliverFor. A webhook answering 4xx (not 408 or 429)
// rejects the delivery for good. The one case a receiver can get a firing
// twice is a replica dying after a POST and before recording it: the
// firing's id lets the receiver deduplicate.
//
// The cron job publishes the rules it runs (webhooks by name only: their
// URLs are credentials) beside the firings; the webapp's Alerts page and
// /api/Alerts/ read both, so they show what is evaluated, not a second
// copy of the file.
package alerts
