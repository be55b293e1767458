// Package affinity pins a process to CPUs: the way an experiment keeps the
// server and the load generator off each other's CPUs.
package affinity
