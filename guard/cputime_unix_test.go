//go:build unix

package guard

import (
	"syscall"
	"time"
)

// processCPU is the CPU time of the whole process so far (every thread:
// handlers, GC, SQLite). Benchmarks report it per operation as cpu-ns/op,
// which is what bounds throughput on a dedicated machine and, unlike
// sec/op, barely moves when other work shares the cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
