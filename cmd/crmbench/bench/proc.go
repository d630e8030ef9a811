package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of the CPU times in /proc/PID/stat; it is
// 100 on every Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// cpuOf is the CPU time (user + system) a process has used, children it
// has waited for included (a PostgreSQL backend that exits during a run is
// counted in its postmaster).
func cpuOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime, stime, cutime, cstime are fields
	// 14 to 17.
	if len(f) < 15 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	var sum int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return time.Duration(sum) * clockTick, nil
}

// memOf returns VmHWM (the peak resident set since the process started)
// and VmRSS, in bytes.
func memOf(pid int) (peak, now int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, k := range []string{"VmHWM:", "VmRSS:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				if err != nil {
					return 0, 0, err
				}
				if k == "VmHWM:" {
					peak = kb << 10
				} else {
					now = kb << 10
				}
			}
		}
	}
	return peak, now, sc.Err()
}

// resetPeak makes VmHWM start again from the current RSS (Linux 4.0+,
// writing 5 to clear_refs), so a run's peak is not the start-up's.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// pidListening finds the process that listens on the TCP port (IPv4 or
// IPv6), through the socket inode of /proc/net/tcp*.
func pidListening(port int) (int, error) {
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			local := f[1]
			p, err := strconv.ParseInt(local[strings.LastIndexByte(local, ':')+1:], 16, 32)
			if err == nil && int(p) == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("nothing listens on port %d", port)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		target, err := os.Readlink(fd)
		if err != nil || !inodes[target] {
			continue
		}
		pid, err := strconv.Atoi(strings.Split(fd, "/")[2])
		if err == nil {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no process found for the socket on port %d (try --pid)", port)
}

// postgresPIDs are the PostgreSQL server's processes: with database set,
// only the backends connected to that database (their command line reads
// "postgres: USER DATABASE HOST…"), so the work of other databases on the
// same server is left out; otherwise every postgres process (the
// postmaster's waited-for children included).
func postgresPIDs(database string) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		comm, err := os.ReadFile(d + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if database != "" {
			cmd, _ := os.ReadFile(d + "/cmdline")
			// "postgres: [CLUSTER: ]USER DATABASE HOST(PORT) STATE"
			args := strings.Fields(strings.ReplaceAll(string(cmd), "\x00", " "))
			if len(args) > 1 && args[0] == "postgres:" && strings.HasSuffix(args[1], ":") {
				args = append(args[:1], args[2:]...) // Debian names the cluster: "15/main:"
			}
			if len(args) < 3 || args[0] != "postgres:" || args[2] != database {
				continue
			}
		}
		out = append(out, pid)
	}
	return out
}

// cpuSnapshot is the CPU time of each process of a set.
type cpuSnapshot map[int]time.Duration

func snapshot(pids []int) cpuSnapshot {
	s := cpuSnapshot{}
	for _, p := range pids {
		if c, err := cpuOf(p); err == nil {
			s[p] = c
		}
	}
	return s
}

// since is the CPU the processes of now used after before was taken; a
// process that appeared in between counts whole.
func (now cpuSnapshot) since(before cpuSnapshot) time.Duration {
	var d time.Duration
	for p, c := range now {
		d += c - before[p]
	}
	return d
}
