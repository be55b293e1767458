//go:build !linux

package uring

import (
	"iolab/models"
	"iolab/models/uring/ring"
)

func available() error { return ring.ErrUnsupported }

// Start refuses: there is no io_uring here.
func Start(string, models.Config) (models.Core, error) { return nil, ring.ErrUnsupported }
