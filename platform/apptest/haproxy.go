package apptest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// HAProxy starts a real HAProxy in HTTP mode in front of the servers
// (host:port each; round robin, named s1, s2, … in an X-Served-By answer
// header) and returns its base URL once it listens; it is stopped when the
// test ends. Without haproxy the test is skipped, unless CI is set: in CI it
// fails.
func HAProxy(t testing.TB, servers ...string) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/haproxy"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("haproxy is not installed (apt-get install -y haproxy, or .ci/services); CI must run the tests through a proxy")
			}
			t.Skip("haproxy is not installed: apt-get install -y haproxy")
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	conf := []string{
		"global", "  maxconn 2000",
		"defaults", "  mode http", "  option http-keep-alive",
		"  timeout connect 5s", "  timeout client 60s", "  timeout server 60s",
		"frontend api", "  bind " + addr, "  http-response set-header X-Served-By %[srv_name]", "  default_backend app",
		"backend app", "  balance roundrobin",
	}
	for i, s := range servers {
		conf = append(conf, "  server s"+strconv.Itoa(i+1)+" "+s)
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &Buffer{}
	cmd := exec.Command(bin, "-db", "-f", cfg)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("haproxy output:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return "http://" + addr
		}
		select {
		case <-exited:
			t.Fatalf("haproxy exited at start: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy does not listen on %s: %s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
