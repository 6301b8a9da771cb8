package runtime

import (
	"context"
	"errors"
)

// Service is the one lifecycle shape of every crashstream service: the
// binary builds it from configuration and clients (returning quickly), and
// a Process runs it. Run blocks until ctx is cancelled, drains its
// in-flight work (an HTTP server finishes its requests, a consumer its
// records, and commits), and returns; an early error stops the process.
// The clients it was built from are closed by the Process after every
// Service returned, in reverse order of registration.
type Service interface {
	Run(ctx context.Context) error
}

// ServiceFunc adapts a function to Service.
type ServiceFunc func(ctx context.Context) error

// Run implements Service.
func (f ServiceFunc) Run(ctx context.Context) error { return f(ctx) }

// Serving is a service that serves HTTP (serve, from ServeHTTP) with a
// background loop beside it. On shutdown the server drains first, and the
// background loop is stopped only then, so that work the in-flight
// requests handed it (the collector's republishes) is still done.
func Serving(serve func(ctx context.Context) error, background Service) Service {
	return ServiceFunc(func(ctx context.Context) error {
		bctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		go func() { done <- background.Run(bctx) }()
		err := serve(ctx)
		stop()
		return errors.Join(err, <-done)
	})
}

// Add registers s as one of the process's loops, under name.
func (p *Process) Add(name string, s Service) { p.Go(name, s.Run) }
