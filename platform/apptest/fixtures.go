package apptest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"
)

// ID is the id of the object r's body holds, failing the test without one.
func ID(t testing.TB, r *Response) int64 {
	t.Helper()
	var out struct {
		ID int64 `json:"id"`
	}
	r.JSON(t, &out)
	if out.ID == 0 {
		t.Fatalf("no id in %s", r.Body)
	}
	return out.ID
}

// WantDetail fails unless r is a JSON error with a detail, and returns it.
func WantDetail(t testing.TB, r *Response) map[string]any {
	t.Helper()
	m := r.Map(t)
	if d, _ := m["detail"].(string); d == "" {
		t.Fatalf("no detail in %s", r)
	}
	return m
}

// FieldErrors fails unless r is a JSON error with a detail, and returns
// the messages it gives per field.
func FieldErrors(t testing.TB, r *Response) map[string][]string {
	t.Helper()
	var out struct {
		Detail string              `json:"detail"`
		Errors map[string][]string `json:"errors"`
	}
	r.JSON(t, &out)
	if out.Detail == "" {
		t.Fatalf("no detail in %s", r.Body)
	}
	return out.Errors
}

// Create posts body to path as token, expects a 201 and returns the new
// object's id.
func (a *App) Create(t testing.TB, token, path string, body any) int64 {
	t.Helper()
	return ID(t, Expect(t, a.Post(token, path, body), http.StatusCreated))
}

var clientSeq atomic.Int64

// Client creates a client through the API (as token), with a name and an
// email of its own, and returns its id; coach, when not zero, is assigned
// as its coach.
func (a *App) Client(t testing.TB, token string, coach int64) int64 {
	t.Helper()
	n := clientSeq.Add(1)
	body := map[string]any{"first_name": "Client", "last_name": fmt.Sprint(n), "email": fmt.Sprintf("client%d@example.com", n)}
	if coach != 0 {
		body["coach"] = coach
	}
	return a.Create(t, token, "/api/clients/", body)
}

// IDs returns the ids of a list's results (one page of up to 200), failing
// unless the count is the number of results.
func (a *App) IDs(t testing.TB, token, listPath string) []int64 {
	t.Helper()
	sep := "?"
	if strings.Contains(listPath, "?") {
		sep = "&"
	}
	var page struct {
		Count   int `json:"count"`
		Results []struct {
			ID int64 `json:"id"`
		} `json:"results"`
	}
	Expect(t, a.Get(token, listPath+sep+"page_size=200"), http.StatusOK).JSON(t, &page)
	out := make([]int64, 0, len(page.Results))
	for _, x := range page.Results {
		out = append(out, x.ID)
	}
	if page.Count != len(out) {
		t.Fatalf("%s: count %d, %d results", listPath, page.Count, len(out))
	}
	return out
}

// Count returns how many rows table holds, in every account.
func (a *App) Count(t testing.TB, table string) int {
	t.Helper()
	return count(t, a.DB.NewSelect().Table(table))
}

// CountIn returns how many rows of table belong to the account.
func (a *App) CountIn(t testing.TB, table string, accountID int64) int {
	t.Helper()
	return count(t, a.DB.NewSelect().Table(table).Where("account_id = ?", accountID))
}

func count(t testing.TB, q *bun.SelectQuery) int {
	t.Helper()
	n, err := q.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}
