package loadtest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (proc(5)). It is 100 on every Linux architecture Go supports; reading
// it with sysconf(_SC_CLK_TCK) would need cgo for the same answer.
const clockTicks = 100

// ProcSample is a process's CPU time so far and resident memory now.
type ProcSample struct {
	CPUTicks int64 // utime + stime, in clock ticks
	RSSKB    int64 // VmRSS, in kB
}

// ServerUsage is what the server process spent during the measured phase.
type ServerUsage struct {
	CPUSeconds          float64 `json:"cpu_s"`
	CPUMicrosPerRequest float64 `json:"cpu_us_per_req"`
	RSSMB               float64 `json:"rss_mb"` // after the run
	RSSMBBefore         float64 `json:"rss_mb_before"`
}

func usage(before, after ProcSample) ServerUsage {
	return ServerUsage{
		CPUSeconds:  float64(after.CPUTicks-before.CPUTicks) / clockTicks,
		RSSMB:       float64(after.RSSKB) / 1024,
		RSSMBBefore: float64(before.RSSKB) / 1024,
	}
}

// SampleProc reads /proc/PID/stat and /proc/PID/status.
func SampleProc(pid int) (ProcSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcSample{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcSample{}, err
	}
	ticks, err := parseStatCPU(string(stat))
	if err != nil {
		return ProcSample{}, err
	}
	rss, err := parseStatusRSS(string(status))
	if err != nil {
		return ProcSample{}, err
	}
	return ProcSample{CPUTicks: ticks, RSSKB: rss}, nil
}

// parseStatCPU returns utime + stime, fields 14 and 15 of /proc/PID/stat
// (proc(5)). Field 2, the command name in parentheses, may itself hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseStatCPU(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat: no command name")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command name, want at least 13", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc stat: utime %q, stime %q are not numbers", f[11], f[12])
	}
	return utime + stime, nil
}

// parseStatusRSS returns VmRSS in kB from /proc/PID/status.
func parseStatusRSS(status string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("/proc status: VmRSS %q is not in kB", strings.TrimSpace(rest))
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("/proc status: no VmRSS line (a kernel thread, or a process that has exited)")
}
