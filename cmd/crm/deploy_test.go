package main

import (
	"bufio"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"crm/platform/config"

	"github.com/goccy/go-yaml"
)

// No Docker engine runs where the tests run, so docker-compose.yml and the
// Dockerfile are kept correct by reading them: every CRM_* setting the
// compose file sets is one the binary reads, the API waits for a healthy
// PostgreSQL 16 with a named volume, and the image builds ./cmd/crm as a
// static binary run by a non-root user.

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string         `yaml:"image"`
	Build       any            `yaml:"build"`
	Command     any            `yaml:"command"`
	Environment any            `yaml:"environment"`
	DependsOn   any            `yaml:"depends_on"`
	Volumes     []string       `yaml:"volumes"`
	Ports       []string       `yaml:"ports"`
	Healthcheck map[string]any `yaml:"healthcheck"`
}

// env returns the service's environment, in either of compose's two forms.
func (s composeService) env(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case nil:
	case map[string]any:
		for k, v := range e {
			if v == nil {
				out[k] = ""
			} else {
				out[k] = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(fmtAny(v), `"`), `"`))
			}
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(fmtAny(kv), "=")
			out[k] = v
		}
	default:
		t.Fatalf("environment of unexpected type %T", e)
	}
	return out
}

func fmtAny(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	b, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(b))
}

var interpolation = regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?-([^}]*))?\}`)

// defaults replaces ${VAR:-default} with its default, as compose does when
// VAR is not set.
func defaults(s string) string {
	return interpolation.ReplaceAllString(s, "$3")
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

func TestComposeSetsOnlySettingsTheBinaryReads(t *testing.T) {
	c := readCompose(t)
	known := config.Names()
	seen := 0
	for name, svc := range c.Services {
		for k := range svc.env(t) {
			if !strings.HasPrefix(k, "CRM_") {
				continue
			}
			seen++
			if !slices.Contains(known, k) {
				t.Errorf("service %s sets %s, which the binary does not read (config.Names: %v)", name, k, known)
			}
		}
	}
	if seen == 0 {
		t.Fatal("docker-compose.yml sets no CRM_* setting")
	}
}

func TestComposeRunsTheAPIOnAHealthyPostgres(t *testing.T) {
	c := readCompose(t)
	db, ok := c.Services["db"]
	if !ok {
		t.Fatal("no db service")
	}
	if !strings.HasPrefix(db.Image, "postgres:16") {
		t.Errorf("db image = %q, want PostgreSQL 16", db.Image)
	}
	if !strings.Contains(fmtAny(db.Healthcheck["test"]), "pg_isready") {
		t.Errorf("db healthcheck = %v, want pg_isready", db.Healthcheck["test"])
	}
	volume := ""
	for _, v := range db.Volumes {
		if src, dst, ok := strings.Cut(v, ":"); ok && dst == "/var/lib/postgresql/data" {
			volume = src
		}
	}
	if _, ok := c.Volumes[volume]; volume == "" || !ok {
		t.Errorf("the db data is not on a named volume: volumes %v, top-level %v", db.Volumes, c.Volumes)
	}
	dbEnv := db.env(t)

	api, ok := c.Services["api"]
	if !ok {
		t.Fatal("no api service")
	}
	build, _ := api.Build.(map[string]any)
	if api.Build == nil || (build != nil && fmtAny(build["dockerfile"]) != "Dockerfile") {
		t.Errorf("api build = %v, want the Dockerfile", api.Build)
	}
	deps, _ := api.DependsOn.(map[string]any)
	dep, _ := deps["db"].(map[string]any)
	if fmtAny(dep["condition"]) != "service_healthy" {
		t.Errorf("api depends_on = %v, want db with condition service_healthy", api.DependsOn)
	}
	cmd, _ := api.Command.([]any)
	if len(cmd) == 0 || fmtAny(cmd[0]) != "serve" {
		t.Errorf("api command = %v, want crm serve", api.Command)
	}

	env := api.env(t)
	if env["CRM_HTTP_ADDR"] != "0.0.0.0:8080" {
		t.Errorf("CRM_HTTP_ADDR = %q, want 0.0.0.0:8080 (reachable from outside the container)", env["CRM_HTTP_ADDR"])
	}
	if !slices.Contains(api.Ports, "8080:8080") {
		t.Errorf("ports = %v, want 8080:8080", api.Ports)
	}
	if s := defaults(env["CRM_JWT_SECRET"]); len(s) < 32 {
		t.Errorf("CRM_JWT_SECRET defaults to %q: the binary refuses under 32 characters", s)
	}
	if env["CRM_AUTO_MIGRATE"] == "false" {
		t.Error("CRM_AUTO_MIGRATE=false: nothing would migrate the database")
	}
	// The URL names the db service with its credentials and database.
	u, err := url.Parse(defaults(env["CRM_DATABASE_URL"]))
	if err != nil {
		t.Fatalf("CRM_DATABASE_URL: %v", err)
	}
	pw, _ := u.User.Password()
	if u.Scheme != "postgres" || u.Hostname() != "db" || u.Port() != "5432" ||
		u.User.Username() != dbEnv["POSTGRES_USER"] || pw != defaults(dbEnv["POSTGRES_PASSWORD"]) ||
		strings.TrimPrefix(u.Path, "/") != dbEnv["POSTGRES_DB"] {
		t.Errorf("CRM_DATABASE_URL %q does not match the db service (%v)", u, dbEnv)
	}
}

func TestDockerfileBuildsAStaticBinaryRunAsNonRoot(t *testing.T) {
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var froms []string
	var build, user, entrypoint string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		word, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			froms = append(froms, rest)
			user = "" // USER belongs to its stage
		case "RUN":
			if strings.Contains(rest, "go build") {
				build = rest
			}
		case "USER":
			user = strings.TrimSpace(rest)
		case "ENTRYPOINT":
			entrypoint = rest
		}
	}
	if len(froms) < 2 {
		t.Fatalf("FROM lines %v: want a multi-stage build", froms)
	}
	runtime := froms[len(froms)-1]
	if !strings.Contains(runtime, "distroless") && !strings.HasPrefix(runtime, "scratch") {
		t.Errorf("runtime stage %q: want distroless or scratch", runtime)
	}
	if !regexp.MustCompile(`\./cmd/crm(\s|$)`).MatchString(build) {
		t.Errorf("the go build line %q does not build ./cmd/crm", build)
	}
	if !strings.Contains(build, "CGO_ENABLED=0") {
		t.Errorf("the go build line %q is not static (CGO_ENABLED=0)", build)
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("the runtime stage runs as %q: want a non-root user", user)
	}
	if !strings.Contains(entrypoint, "crm") {
		t.Errorf("ENTRYPOINT %q does not run crm", entrypoint)
	}
	// The build context keeps what the build needs.
	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ignore), "\n") {
		line = strings.TrimSpace(line)
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "platform", "modules", "migrations", "policies", "*.go", "**/*.go"} {
			if line == needed || line == "/"+needed {
				t.Errorf(".dockerignore leaves out %s, which the build needs", needed)
			}
		}
	}
}
