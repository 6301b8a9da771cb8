package main

import "context"

func sinkClickHouseCommand() command {
	return command{
		name:    "sink-clickhouse",
		summary: "write processed crashes to ClickHouse",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return errNotBuilt("sink-clickhouse")
		},
	}
}

func sinkObjectStoreCommand() command {
	return command{name: "sink-objectstore", summary: "write processed crashes to the object store",
		run: func(ctx context.Context, args []string, env cmdEnv) error { return errNotBuilt("sink-objectstore") }}
}

func sinkTelemetryCommand() command {
	return command{name: "sink-telemetry", summary: "export public fields of processed crashes to the telemetry topic",
		run: func(ctx context.Context, args []string, env cmdEnv) error { return errNotBuilt("sink-telemetry") }}
}
