//go:build !linux

package loadgen

import (
	"context"
	"errors"
)

var errUnsupported = errors.New("loadgen: unsupported on this OS: the load generator runs its own epoll loops and is Linux only")

// Run validates cfg, then refuses: the engine is Linux only.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if _, err := newPlan(cfg); err != nil {
		return nil, err
	}
	return nil, errUnsupported
}
