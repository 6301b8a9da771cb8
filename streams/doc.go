// Package streams is the one Kafka library of crashstream: topic names and
// creation, a producer, and the runner that turns a service's stages into
// group consumers, on franz-go.
//
// # Stages and decorators
//
// A consuming service exposes a Stage: a Handler (or BatchHandler) and what
// it consumes (group, topics, optionally its own concurrency and batch
// size). NewRunner builds one Consumer per stage; no service constructs a
// Kafka client. The consumer fetches, queues per partition, marks and
// commits; the rest of the contract below is a chain of Decorators around
// the handler, outermost first: WithDeadLetters, WithMetrics, WithRetry
// (one backoff.Policy, kafka.retry.*), WithRecover (a panic becomes a
// permanent error with its stack). See docs/design.md, "Stages and the
// runner".
//
// # Delivery guarantee: at least once
//
// The consumer marks a record for commit only after its handler returned
// success (or after the record was written to the dead-letter topic), and
// commits only marked offsets: periodically, when partitions are revoked,
// and at shutdown. A crash, a rebalance or a kill between the handler's
// side effects and the commit means the record is delivered again, possibly
// to another group member. Nothing is lost; some records are seen twice.
//
// Handlers must therefore be idempotent: handling the same record twice must
// leave the same result as handling it once (write objects under the crash
// id, insert rows that a ReplacingMergeTree collapses, produce events keyed
// by crash id whose consumers are idempotent in turn).
//
// # What a handler returns
//
//   - nil: done; the record will be committed.
//   - Permanent(err): this record can never succeed (malformed, violates the
//     contract). It goes to the dead-letter topic crash.dlq.v1 with headers
//     naming its source topic, partition, offset, consumer group and the
//     error, and the partition moves on.
//   - any other error: transient (a dependency is down). The record is
//     retried with exponential backoff, and the partition waits, keeping
//     order. kafka.retry.max-attempts > 0 turns a record that keeps failing
//     into a dead letter after that many attempts; 0 retries until success
//     or shutdown.
//
// Records of one partition are handled one at a time, in offset order;
// different partitions run concurrently, at most kafka.consumer.concurrency
// at once. When partitions are revoked, the consumer lets the handler calls
// in flight for them finish, commits what is done, and only then lets the
// rebalance proceed. Partitions lost outright (the member was fenced) are
// already someone else's: their handlers' context is cancelled and nothing
// is committed. At shutdown it stops fetching, lets in-flight handler
// calls finish (their context is cancelled after kafka.consumer.drain-timeout),
// commits, and leaves the group.
//
// The producer is idempotent with acks=all: a record acknowledged by Send
// is on every in-sync replica, and producer retries never duplicate it.
package streams
