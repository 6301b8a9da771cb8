package main

import "context"

// allServices lists every long-running service, in start order: consumers
// before the HTTP front ends, so that readiness is on when traffic arrives.
func allServices() []service {
	proc := &processorService{}
	return []service{
		proc,
		&sinkClickHouseService{},
		&sinkObjectStoreService{},
		&sinkTelemetryService{},
		&cronService{},
		&collectorService{},
		&webappService{processorSymbolURLs: &proc.cfg.Symbols.URLs},
	}
}

func allCommand() command {
	return command{
		name:    "all",
		summary: "run every service in one process (one admin server on :9100)",
		run: func(ctx context.Context, args []string, env cmdEnv) error {
			return runServices(ctx, "all", args, env, "127.0.0.1:9100", allServices()...)
		},
	}
}
