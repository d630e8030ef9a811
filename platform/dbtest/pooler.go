package dbtest

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// DirectURL is the PostgreSQL server itself when the suite's URL is a
// pooler (CRM_TEST_POSTGRES_DIRECT_URL; unset: the suite's URL is the
// server). LISTEN needs a session of its own, which a transaction pooler
// does not give.
func DirectURL() string {
	if u := os.Getenv("CRM_TEST_POSTGRES_DIRECT_URL"); u != "" {
		return u
	}
	return PostgresURL()
}

// Direct is dbURL, a database on the suite's server, reached without the
// pooler (see DirectURL).
func Direct(dbURL string) string {
	d := DirectURL()
	if d == "" || d == PostgresURL() {
		return dbURL
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	du, err := url.Parse(d)
	if err != nil {
		return dbURL
	}
	du.Path = u.Path
	return du.String()
}

// Pooler starts a PgBouncer of the test's own in pool_mode mode
// ("transaction", "session" or "statement") in front of dbURL's server,
// with at most poolSize server connections to its database, and returns
// dbURL through it. It is stopped when the test
// ends. Without pgbouncer on the PATH the test is skipped, unless CI is
// set: in CI it fails.
func Pooler(t testing.TB, dbURL, mode string, poolSize int) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pgbouncer is not installed (apt-get install -y pgbouncer); CI must run the pooler tests")
		}
		t.Skip("pgbouncer is not installed")
	}
	server, err := url.Parse(Direct(dbURL))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	// PgBouncer refuses to run as root: it then runs as postgres, which
	// must read its folder.
	dir, err := os.MkdirTemp("", "crm-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o777)
	userName := server.User.Username()
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s pool_size=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = %s
max_db_connections = %d
max_client_conn = 200
logfile = %s
pidfile = %s
`, server.Hostname(), cmp.Or(server.Port(), "5432"), poolSize, port, filepath.Join(dir, "users.txt"), mode,
		poolSize, filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
	for name, body := range map[string]string{"pgbouncer.ini": ini, "users.txt": strconv.Quote(userName) + ` ""` + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			t.Fatal("pgbouncer refuses to run as root, and there is no postgres user to run it as")
		}
		args = append([]string{"-u", "postgres"}, args...)
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer did not listen on %s: %s", addr, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pooled := *server
	pooled.Host = addr
	return pooled.String()
}
