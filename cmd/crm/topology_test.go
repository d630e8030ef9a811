package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"crm/platform/dbtest"
)

// topologyLine is the "crm topology" line a started serve printed.
func topologyLine(t *testing.T, p *serverProcess) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, line := range strings.Split(p.output.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "crm topology" {
				return m
			}
		}
	}
	t.Fatalf("no topology line in:\n%s", p.output.String())
	return nil
}

// TestServePrintsItsTopology: serve says what it found behind its settings:
// the database kind; on PostgreSQL, for the API's URL and the owner's, the
// login and whether a pooler answers, the role it serves as, and whether
// the principal cache hears its announcements. A pooler in statement mode
// is refused with one sentence naming the setting and the fix.
func TestServePrintsItsTopology(t *testing.T) {
	url := dbtest.URL(t)
	line := topologyLine(t, startServe(t, crmEnv(url, "CRM_LOG_LEVEL=info")))
	if dbtest.PostgresURL() == "" {
		if line["database"] != "sqlite" || line["principal_cache"] != "not used on SQLite" {
			t.Fatalf("topology on SQLite: %v", line)
		}
		return
	}
	group := func(m map[string]any, k string) map[string]any { g, _ := m[k].(map[string]any); return g }
	direct := dbtest.Direct(url)
	line = topologyLine(t, startServe(t, crmEnv(direct, "CRM_LOG_LEVEL=info")))
	if line["database"] != "postgres" || group(line, "database_url")["pooled"] != false || group(line, "db_owner_url")["pooled"] != false ||
		line["serving_role"] != "crm_app" || line["principal_cache"] != "on" || group(line, "database_url")["login"] == "" {
		t.Fatalf("topology, direct: %v", line)
	}
	pooled := dbtest.Pooler(t, direct, "transaction", 8)
	line = topologyLine(t, startServe(t, crmEnv(pooled, "CRM_LOG_LEVEL=info", "CRM_DB_LISTEN_URL="+direct)))
	if group(line, "database_url")["pooled"] != true || group(line, "db_owner_url")["pooled"] != true || line["principal_cache"] != "on" {
		t.Fatalf("topology through a transaction pooler, listening directly: %v", line)
	}

	code, stderr := runCRMFailing(t, crmEnv(dbtest.Pooler(t, direct, "statement", 8), "CRM_HTTP_ADDR="+freeAddr(t)), "serve")
	expectConfigError(t, code, stderr, "CRM_DATABASE_URL")
	if !strings.Contains(stderr, "CRM_DATABASE_URL reaches a pooler in statement mode") || !strings.Contains(stderr, "pool_mode to transaction") {
		t.Fatalf("serve through a statement pooler said:\n%s", stderr)
	}
}
