package identity

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"crm/platform/auth"
	"crm/platform/db"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// principals caches the verified caller of each live session, so that an
// authenticated request needs no database round trip of its own.
//
// It stays exact: every change that makes a principal stale (logout,
// password change, deactivation, role, permission, name or email change,
// account rename) names it with stale() inside its transaction. On this
// instance the entries are dropped again once the transaction has
// committed, before the answer is written, so the caller's next request
// reads the database. On PostgreSQL the transaction also sends
// NOTIFY crm_principal (delivered to every instance at commit) and each
// instance's listener drops the entries when it arrives. While the listener
// is not connected the cache is off (every request reads the database); on
// reconnect it starts empty, since notifications may have been missed.
//
// The zero value is off: module.go turns it on (SQLite) or starts the
// listener (PostgreSQL).
//
// A reader that loaded a principal before a change committed cannot store
// it after the change was announced: every drop bumps gen, and put only
// stores when gen is still the one seen before the read.
type principals struct {
	mu      sync.Mutex
	entries map[string]cachedPrincipal // by session id
	gen     uint64
	on      bool
}

type cachedPrincipal struct {
	p       *auth.Principal
	expires time.Time // the session's expiry, or the entry's age limit if sooner
}

const (
	// principalsMax bounds the cache; when full, an arbitrary entry goes.
	principalsMax = 10000
	// principalTTL bounds how long an entry lives whatever happens: a change
	// made outside the API (a reload of the bench data, SQL by hand) is seen
	// within this time.
	principalTTL = 30 * time.Second
	// notifyChannel is the PostgreSQL channel of the announcements.
	notifyChannel = "crm_principal"
)

// get returns the cached principal of the claims' session, and the
// generation to pass to put after a database read.
func (c *principals) get(cl *auth.Claims, now time.Time) (*auth.Principal, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return nil, c.gen
	}
	e, ok := c.entries[cl.SessionID]
	if !ok {
		return nil, c.gen
	}
	if !now.Before(e.expires) {
		delete(c.entries, cl.SessionID)
		return nil, c.gen
	}
	if e.p.EmployeeID != cl.EmployeeID || e.p.AccountID != cl.AccountID {
		return nil, c.gen
	}
	return e.p, c.gen
}

// put stores p unless something was dropped since gen was read.
func (c *principals) put(p *auth.Principal, sessionExpires time.Time, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on || gen != c.gen {
		return
	}
	if c.entries == nil {
		c.entries = map[string]cachedPrincipal{}
	}
	if len(c.entries) >= principalsMax {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	exp := now.Add(principalTTL)
	if sessionExpires.Before(exp) {
		exp = sessionExpires
	}
	c.entries[p.SessionID] = cachedPrincipal{p: p, expires: exp}
}

// drop removes the entries a key names: "session:ID", "employee:ID",
// "account:ID"; anything else clears the cache.
func (c *principals) drop(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, key := range keys {
		kind, id, _ := strings.Cut(key, ":")
		n, err := strconv.ParseInt(id, 10, 64)
		switch {
		case kind == "session":
			delete(c.entries, id)
		case kind == "employee" && err == nil:
			for k, e := range c.entries {
				if e.p.EmployeeID == n {
					delete(c.entries, k)
				}
			}
		case kind == "account" && err == nil:
			for k, e := range c.entries {
				if e.p.AccountID == n {
					delete(c.entries, k)
				}
			}
		default:
			clear(c.entries)
		}
	}
}

// state says whether the cache is on, for the topology line.
func (c *principals) state() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		return "on"
	}
	return "off"
}

// setOn turns the cache on or off; either way it starts empty.
func (c *principals) setOn(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	c.on = on
}

// stale announces, inside the transaction tx of a change, that the cached
// principals of keys are stale: dropped here now, on every PostgreSQL
// instance when tx commits (NOTIFY), and here again after the commit
// (afterCommit).
func (s *Service) stale(ctx context.Context, tx bun.IDB, keys ...string) error {
	s.principals.drop(keys...)
	for _, k := range keys {
		if err := db.Notify(ctx, tx, notifyChannel, k); err != nil {
			return err
		}
	}
	if !db.AfterCommit(ctx, func() { s.principals.drop(keys...) }) {
		// No request transaction: the caller's own transaction commits when
		// db.InTx returns; write() drops the keys again then.
		s.pending(ctx, keys)
	}
	return nil
}

type pendingKey struct{}

// pending remembers keys to drop when write's transaction has committed.
func (s *Service) pending(ctx context.Context, keys []string) {
	if p, ok := ctx.Value(pendingKey{}).(*[]string); ok {
		*p = append(*p, keys...)
	}
}

// write runs fn in a transaction (the request's, when there is one) and,
// once it has committed, drops the principals fn declared stale.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	var keys []string
	ctx = context.WithValue(ctx, pendingKey{}, &keys)
	err := db.InTx(ctx, s.db, func(tx bun.Tx) error { return fn(ctx, tx) })
	if err == nil && len(keys) > 0 {
		s.principals.drop(keys...)
	}
	return err
}

func sessionKey(id string) string { return "session:" + id }
func employeeKey(id int64) string { return "employee:" + strconv.FormatInt(id, 10) }
func accountKey(id int64) string  { return "account:" + strconv.FormatInt(id, 10) }

// AccountRenamed is called by the accounts module inside the transaction
// that renames an account: its employees' principals carry the name.
func (s *Service) AccountRenamed(ctx context.Context, tx bun.IDB, accountID int64) error {
	return s.stale(ctx, tx, accountKey(accountID))
}

// listen keeps a LISTEN connection to PostgreSQL and drops the principals
// each announcement names, until ctx ends. The cache is on only while the
// connection is up and a probe announced through the owner's pool has come
// back on it: behind a transaction pooler a LISTEN lands on a server
// connection that the pooler then hands to others, and announcements never
// arrive. A cache whose invalidations cannot arrive is never used.
func (s *Service) listen(ctx context.Context, url string, log *slog.Logger, first chan<- bool) {
	defer s.principals.setOn(false)
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, url, log, first)
		s.principals.setOn(false)
		if ctx.Err() != nil {
			return
		}
		wait := time.Second
		if errors.Is(err, errProbeLost) {
			// Not a lost connection: the topology. Say so, and try again
			// now and then (the setting may be fixed behind it).
			log.Warn("principal cache off: announcements do not arrive on CRM_DB_LISTEN_URL; point it (or CRM_DB_OWNER_URL) at a direct connection, not a transaction pooler")
			wait = 30 * time.Second
		} else {
			log.Warn("principal cache off: notification listener lost, reconnecting", "error", errString(err))
		}
		tell(first, false)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// tell reports the listener's state to whoever waits for its first one
// (startPrincipalCache), without ever blocking.
func tell(first chan<- bool, on bool) {
	select {
	case first <- on:
	default:
	}
}

// errProbeLost: a probe announced through the owner's pool did not come
// back on the listening connection.
var errProbeLost = errors.New("identity: the listener's probe did not arrive")

// probeWait bounds how long a probe may take to come back.
const probeWait = 5 * time.Second

func (s *Service) listenOnce(ctx context.Context, url string, log *slog.Logger, first chan<- bool) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, url)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	if err := s.probe(ctx, conn); err != nil {
		return err
	}
	s.principals.setOn(true)
	log.Info("principal cache on: announcements arrive on the listening connection")
	tell(first, true)
	for {
		wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			s.announced(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// Quiet for a while: make sure announcements still arrive.
			if err := s.probe(ctx, conn); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// announced applies an announcement: the employee whose cached principal
// is stale, or another instance's probe (nothing to drop).
func (s *Service) announced(payload string) {
	if !strings.HasPrefix(payload, "probe:") {
		s.principals.drop(payload)
	}
}

// probe announces a payload of its own through the owner's pool and waits
// for it on conn, applying the announcements that come before it.
func (s *Service) probe(ctx context.Context, conn *pgx.Conn) error {
	payload := "probe:" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := s.owner.ExecContext(ctx, "SELECT pg_notify(?, ?)", notifyChannel, payload); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	for {
		n, err := conn.WaitForNotification(wctx)
		switch {
		case err == nil && n.Payload == payload:
			return nil
		case err == nil:
			s.announced(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			if conn.Ping(ctx) != nil {
				return err
			}
			return errProbeLost
		default:
			return err
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
