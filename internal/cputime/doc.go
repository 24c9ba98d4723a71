// Package cputime reads the process's CPU time, for benchmarks that report
// it per operation (cpu-ns/op): it is what bounds throughput on a
// dedicated machine and, unlike sec/op, barely moves when other work
// shares the cores. Benchmarks in several packages (the token endpoint,
// the signer, the audit writer, the guard) report it the same way.
package cputime
