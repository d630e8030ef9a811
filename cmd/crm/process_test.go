package main

// Helpers of the tests that run the real binary as a child process
// (shutdown_test.go, faults_test.go, seed_demo_test.go): built once per test
// run, started with its own environment, driven over HTTP.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"crm/platform/apptest"
	"crm/platform/dbtest"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// crmBinary is the crm binary, built once for the test run (or
// CRM_TEST_BINARY, built beforehand).
func crmBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("CRM_TEST_BINARY"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "crm-test-bin-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "crm")
		out, err := exec.Command("go", "build", "-o", buildBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// crmEnv is the environment of a child crm on the database url: this
// process's environment without its CRM_* settings, then the test's.
func crmEnv(url string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CRM_") {
			env = append(env, kv)
		}
	}
	if strings.HasPrefix(url, "postgres") {
		// Through a pooler, the listener still takes the server itself.
		env = append(env, "CRM_DB_LISTEN_URL="+dbtest.Direct(url))
	}
	env = append(env,
		"CRM_DATABASE_URL="+url,
		"CRM_JWT_SECRET=process-test-secret-0123456789-abcdefghij",
		"CRM_LOG_LEVEL=warn",
		"CRM_WEBHOOKS_OVERDUE_SCAN=0",
		"CRM_WEBHOOKS_DELIVERY=false",
	)
	return append(env, extra...)
}

// runCRM runs a crm command to its end and returns its standard output.
func runCRM(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(crmBinary(t), args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("crm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// serverProcess is a running `crm serve`.
type serverProcess struct {
	cmd    *exec.Cmd
	addr   string
	base   string
	output *apptest.Buffer
	done   chan struct{} // closed when the process has ended
	err    error         // Wait's result, once done is closed
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe starts `crm serve` and waits until /readyz answers 200. The
// process is killed when the test ends, if it still runs.
func startServe(t *testing.T, env []string) *serverProcess {
	t.Helper()
	addr := freeAddr(t)
	p := &serverProcess{addr: addr, base: "http://" + addr, output: &apptest.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(crmBinary(t), "serve")
	p.cmd.Env = append(env, "CRM_HTTP_ADDR="+addr)
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("crm serve output (its end):\n%s", tail(p.output.String(), 8000))
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("crm serve ended before it was ready: %v\n%s", p.err, p.output.String())
		default:
		}
		if a := call(client, http.MethodGet, p.base+"/readyz", "", nil, nil); a.status == http.StatusOK {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("crm serve is not ready after 90s:\n%s", p.output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answer is what one HTTP call got.
type answer struct {
	status int
	body   []byte
	err    error // no answer at all (refused, reset, client timeout)
	took   time.Duration
}

func (a answer) String() string {
	if a.err != nil {
		return fmt.Sprintf("no answer after %v: %v", a.took, a.err)
	}
	return fmt.Sprintf("%d after %v: %s", a.status, a.took, a.body)
}

// detail is the error body's detail, "" when the body is not the
// contract's JSON error.
func (a answer) detail() string {
	var e struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(a.body, &e) != nil {
		return ""
	}
	return e.Detail
}

// call sends one request (body as JSON when not nil).
func call(client *http.Client, method, url, token string, body any, header http.Header) answer {
	start := time.Now()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return answer{err: err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b, err: err, took: time.Since(start)}
}

// loginToken signs in over HTTP and returns the token.
func loginToken(t *testing.T, base, email, password string) string {
	t.Helper()
	a := call(&http.Client{Timeout: 30 * time.Second}, http.MethodPost, base+"/api/auth/login/", "",
		map[string]string{"email": email, "password": password}, nil)
	if a.status != http.StatusOK {
		t.Fatalf("login %s: %v", email, a)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil || out.Token == "" {
		t.Fatalf("login %s: no token in %s", email, a.body)
	}
	return out.Token
}

// tail is the end of a long output, from a line start.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "…\n" + s
}
