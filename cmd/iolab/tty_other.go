//go:build !linux

package main

import "io"

// isTerminal is false off Linux: progress is printed line by line.
func isTerminal(io.Writer) bool { return false }
