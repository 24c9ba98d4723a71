package server

import "testing"

// TestHashSlotCount: a quarter of the memory over one hash's cost, never
// 0 (sign-ins must stay possible) and never more than the cores.
func TestHashSlotCount(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		rule           string
		avail, perHash uint64
		cores, want    int
	}{
		{"a quarter of 2 GiB over 95 MiB, capped by 8 cores", 2048 * mib, 95 * mib, 8, 5},
		{"capped by the cores", 64 << 30, 95 * mib, 2, 2},
		{"a small container still signs people in, one at a time", 128 * mib, 95 * mib, 4, 1},
		{"unknown cost: the cores", 1 << 30, 0, 3, 3},
	} {
		if got := hashSlotCount(tc.avail, tc.perHash, tc.cores); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.rule, got, tc.want)
		}
	}
	if v, ok := meminfoAvailable("/proc/meminfo"); ok && v == 0 {
		t.Error("MemAvailable read as 0")
	}
}
