//go:build unix

package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time of the whole process so far (every thread:
// handlers, GC, SQLite), or 0 if the kernel does not say.
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
