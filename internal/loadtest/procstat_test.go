package loadtest

import (
	"os"
	"testing"
)

// Fixtures are real lines from Linux 6.x, with the command name made
// hostile: spaces and a ')' inside the parentheses (proc(5) allows both).
const (
	statFixture   = "4242 (tessera) ) x) S 1 4242 4242 0 -1 4194560 5216 0 0 0 1234 567 0 0 20 0 9 0 31337 1305612288 7788 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	statusFixture = "Name:\ttessera\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 1306340 kB\nVmSize:\t 1275012 kB\nVmHWM:\t   40112 kB\nVmRSS:\t   31152 kB\nRssAnon:\t   18000 kB\nThreads:\t9\n"
)

func TestParseProc(t *testing.T) {
	ticks, err := parseStatCPU(statFixture)
	if err != nil || ticks != 1234+567 {
		t.Fatalf("utime+stime = %d, %v; want 1801", ticks, err)
	}
	rss, err := parseStatusRSS(statusFixture)
	if err != nil || rss != 31152 {
		t.Fatalf("VmRSS = %d, %v; want 31152", rss, err)
	}
	u := usage(ProcSample{CPUTicks: 1000, RSSKB: 20 * 1024}, ProcSample{CPUTicks: 1250, RSSKB: 30 * 1024})
	if u.CPUSeconds != 2.5 || u.RSSMBBefore != 20 || u.RSSMB != 30 {
		t.Errorf("usage %+v, want 2.5 s, 20 MB → 30 MB", u)
	}
}

func TestParseProcRejectsMalformed(t *testing.T) {
	for _, stat := range []string{"", "4242 tessera S 1", "4242 (tessera) S 1 2 3", "4242 (x) S 1 1 1 0 -1 0 0 0 0 0 ab cd 0"} {
		if _, err := parseStatCPU(stat); err == nil {
			t.Errorf("parseStatCPU(%q) accepted it", stat)
		}
	}
	for _, status := range []string{"Name:\tkthreadd\nState:\tS\n", "VmRSS:\t12 MB\n", "VmRSS:\t\n"} {
		if _, err := parseStatusRSS(status); err == nil {
			t.Errorf("parseStatusRSS(%q) accepted it", status)
		}
	}
}

// TestSampleSelf reads this test process's own /proc files.
func TestSampleSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	s, err := SampleProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSKB <= 0 || s.CPUTicks < 0 {
		t.Errorf("sample %+v", s)
	}
}
