package db

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Topology is what answers at a PostgreSQL URL, as far as a client can
// tell: the role it logs in as and whether a transaction pooler stands in
// between. The API serves correctly either way (it keeps no session state);
// it is said at start so an operator sees what the settings reached.
type Topology struct {
	Login string
	// Pooled: the server's end of the connection is not the URL's (a
	// pooler or proxy answers), or two transactions of one connection ran
	// on two server sessions (transaction pooling).
	Pooled bool
}

// ErrStatementPooling is a pooler that releases the server connection
// after every statement: a transaction of several statements cannot run.
var ErrStatementPooling = errors.New("db: the pooler runs in statement mode")

// Inspect connects twice to rawURL and tells its Topology. A pooler in
// statement mode, which the API cannot serve through, is ErrStatementPooling.
func Inspect(ctx context.Context, rawURL string) (Topology, error) {
	var t Topology
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return t, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	one, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return t, err
	}
	defer one.Close(context.Background())
	two, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return t, err
	}
	defer two.Close(context.Background())

	var first int64
	var port *int32
	if err := one.QueryRow(ctx, "SELECT pg_backend_pid(), current_user, inet_server_port()").Scan(&first, &t.Login, &port); err != nil {
		return t, err
	}
	if u, err := url.Parse(rawURL); err == nil && port != nil && u.Port() != "" && u.Port() != strconv.Itoa(int(*port)) {
		t.Pooled = true
	}
	// A transaction held on the second connection; then the first one's
	// next statement. Directly (or through a session pooler) each
	// connection keeps its session; a transaction pooler hands the held
	// session to nobody else, and a statement in statement mode refuses
	// the transaction outright.
	if _, err := two.Exec(ctx, "BEGIN"); err != nil {
		if strings.Contains(err.Error(), "statement pooling") || strings.Contains(err.Error(), "statement mode") {
			return t, ErrStatementPooling
		}
		return t, err
	}
	var held, again int64
	if err := two.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&held); err != nil {
		return t, err
	}
	wait, cancelWait := context.WithTimeout(ctx, 2*time.Second)
	err = one.QueryRow(wait, "SELECT pg_backend_pid()").Scan(&again)
	cancelWait()
	switch {
	case err != nil && wait.Err() != nil:
		t.Pooled = true // waiting for the held session: a pool of one
	case err != nil:
		return t, err
	case held == first || again != first:
		t.Pooled = true
	}
	if _, err := two.Exec(ctx, "COMMIT"); err != nil && !t.Pooled {
		return t, fmt.Errorf("db: inspect: %w", err)
	}
	return t, nil
}
