package server

import (
	"bufio"
	"bytes"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
)

// passwordHashSlots sizes the bound on concurrent argon2id hashes (see
// directory.HashSlots) from the memory this process may use:
//
//   - a quarter of the memory available (the cgroup's limit less its
//     usage when there is a limit, else MemAvailable from /proc/meminfo):
//     the rest is for the heap the requests themselves use, the page
//     cache of SQLite and whatever shares the machine;
//   - divided by what one hash really costs: its memory parameter, times
//     1 + GOGC/100, because the collector lets that much garbage of
//     finished hashes pile up before it runs (at the server's GOGC of 400,
//     19 MiB hashes cost about 95 MiB each at peak);
//   - at least 1, and at most GOMAXPROCS: with one lane a hash is pure CPU
//     while it holds its slot, so more slots than cores add memory and
//     latency, not throughput. Waiting sign-ins queue for
//     directory.DefaultHashWait, then get 503.
//
// When memory cannot be read (not Linux), GOMAXPROCS slots.
func passwordHashSlots(log *slog.Logger, p directory.PasswordParams) *directory.HashSlots {
	n := runtime.GOMAXPROCS(0)
	avail, source := availableMemory()
	if avail > 0 {
		gc := debug.SetGCPercent(100)
		debug.SetGCPercent(gc)
		perHash := uint64(p.Memory) << 10
		if gc > 0 {
			perHash = perHash * uint64(100+gc) / 100
		}
		n = hashSlotCount(avail, perHash, n)
	}
	log.Info("password hashing bounded", "concurrent", n, "memory_available", avail, "source", source)
	return directory.NewHashSlots(n, 0)
}

// hashSlotCount is a quarter of avail over perHash, within [1, cores].
func hashSlotCount(avail, perHash uint64, cores int) int {
	if perHash == 0 {
		return cores
	}
	return int(max(min(avail/4/perHash, uint64(cores)), 1))
}

// availableMemory reads the cgroup v2 or v1 limit less usage, and
// MemAvailable, and returns the smaller; 0 when neither can be read.
func availableMemory() (uint64, string) {
	var best uint64
	source := "unknown"
	if v, ok := meminfoAvailable("/proc/meminfo"); ok {
		best, source = v, "meminfo"
	}
	for _, files := range [][2]string{
		{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
		{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"},
	} {
		limit, ok1 := readUint(files[0])
		used, ok2 := readUint(files[1])
		// "max", or v1's near-2^63 "unlimited", read as no limit.
		if !ok1 || !ok2 || limit >= 1<<60 || used > limit {
			continue
		}
		if free := limit - used; best == 0 || free < best {
			best, source = free, "cgroup"
		}
		break
	}
	return best, source
}

func readUint(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil
}

func meminfoAvailable(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
