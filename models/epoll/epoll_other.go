//go:build !linux

package epoll

import (
	"errors"

	"iolab/models"
)

var errUnsupported = errors.New("epoll is Linux only")

func available() error { return errUnsupported }

// Start refuses: there is no epoll here.
func Start(string, models.Config) (models.Core, error) { return nil, errUnsupported }
