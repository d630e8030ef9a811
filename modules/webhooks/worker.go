package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strconv"
	"sync"
	"time"

	"crm/platform/clock"
	"crm/platform/db"

	"github.com/uptrace/bun"
)

// SignatureHeader carries "t=TIMESTAMP,v1=HEX(HMAC-SHA256(secret, TIMESTAMP.BODY))".
const SignatureHeader = "Crm-Signature"

// Sign returns the Crm-Signature value of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// WorkerOptions tune the delivery worker.
type WorkerOptions struct {
	// PollInterval: how often due deliveries are looked for.
	PollInterval time.Duration
	// RetryBase, RetryMax: the first retry delay, doubled after each failed
	// attempt (with jitter) up to RetryMax.
	RetryBase time.Duration
	RetryMax  time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// BatchSize: deliveries claimed (and sent concurrently) at once.
	BatchSize int
	// AllowPrivate lets deliveries reach private addresses.
	AllowPrivate bool
	// OverdueScan: how often the overdue instalments are looked for (0: never).
	OverdueScan time.Duration
}

func (o *WorkerOptions) defaults() {
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 30 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 16
	}
}

// Worker delivers the outbox: it claims due deliveries (on PostgreSQL with
// FOR UPDATE SKIP LOCKED, so several instances deliver each one once),
// POSTs them signed, and records the outcome and the next attempt. A claim
// is a lease: a worker that dies mid-delivery loses its claim when the lease
// expires, and another worker takes the delivery up again.
//
// The worker works for every account at once: this is deliberate
// cross-account work by the system, by delivery id, never for a request, so
// it runs as the database owner (db.Owner).
type Worker struct {
	db      db.Owner
	log     *slog.Logger
	opts    WorkerOptions
	client  *http.Client
	overdue *overdueScanner

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewWorker builds a worker; Start runs it.
func NewWorker(d db.Owner, log *slog.Logger, opts WorkerOptions, scanner *overdueScanner) *Worker {
	opts.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := newGuard(opts.AllowPrivate)
	return &Worker{db: d, log: log, opts: opts, client: g.client(opts.Timeout), overdue: scanner}
}

// lease is how long a claim holds: longer than any attempt.
func (w *Worker) lease() time.Duration { return w.opts.Timeout + time.Minute }

// Start runs the worker in the background until Stop.
func (w *Worker) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go w.run(ctx, w.done)
}

// Stop stops the worker and waits for the attempts in flight (bounded by
// ctx; an attempt cut short stays claimed until its lease expires).
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.cancel, w.done = nil, nil
	w.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Worker) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(w.opts.PollInterval)
	defer tick.Stop()
	var lastScan time.Time
	for {
		if w.overdue != nil && w.opts.OverdueScan > 0 && time.Since(lastScan) >= w.opts.OverdueScan {
			lastScan = time.Now()
			if _, err := w.overdue.Scan(ctx, time.Now().UTC()); err != nil && ctx.Err() == nil {
				w.log.Error("webhooks: overdue scan failed", "error", err.Error())
			}
		}
		for {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.log.Error("webhooks: delivery round failed", "error", err.Error())
			}
			if err != nil || n < w.opts.BatchSize || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ScanOverdue announces the open instalments past their date (the worker
// does it every OverdueScan); it returns how many it announced.
func (w *Worker) ScanOverdue(ctx context.Context, at time.Time) (int, error) {
	if w.overdue == nil {
		return 0, nil
	}
	return w.overdue.Scan(ctx, at)
}

// claimed is a claimed delivery with what sending it needs.
type claimed struct {
	Delivery
	URL     string `bun:"url"`
	Secret  string `bun:"secret"`
	Enabled bool   `bun:"enabled"`
}

// RunOnce claims the due deliveries (one batch), sends them concurrently
// and records the outcomes. It returns how many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	batch, token, err := w.claim(ctx)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	for i := range batch {
		wg.Add(1)
		go func(c *claimed) {
			defer wg.Done()
			w.deliver(ctx, c, token)
		}(&batch[i])
	}
	wg.Wait()
	return len(batch), nil
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// claim leases up to BatchSize due deliveries to this worker. On
// PostgreSQL, FOR UPDATE SKIP LOCKED lets concurrent workers claim disjoint
// rows; on SQLite the single UPDATE runs under the database's write lock.
func (w *Worker) claim(ctx context.Context) ([]claimed, string, error) {
	idb := w.db
	t := clock.Now()
	token := newToken()
	due := idb.NewSelect().Model((*Delivery)(nil)).Column("wd.account_id", "wd.id").
		Where("wd.status = ?", StatusPending).
		Where("wd.next_attempt_at <= ?", t).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("wd.locked_until IS NULL").WhereOr("wd.locked_until < ?", t)
		}).
		OrderExpr("wd.next_attempt_at, wd.id").
		Limit(int64(w.opts.BatchSize))
	due = db.SkipLocked(due)
	res, err := idb.NewUpdate().Model((*Delivery)(nil)).
		Set("locked_until = ?", t.Add(w.lease())).
		Set("claim = ?", token).
		// By (account_id, id), the key: a delivery is its account's.
		Where("(account_id, id) IN (?)", due).
		Exec(ctx)
	if err != nil {
		return nil, "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, token, nil
	}
	var batch []claimed
	err = idb.NewSelect().Model((*Delivery)(nil)).
		ColumnExpr("wd.*").
		ColumnExpr("we.url, we.secret, we.enabled").
		Join("JOIN webhook_endpoints AS we ON we.id = wd.endpoint_id AND we.account_id = wd.account_id").
		Where("wd.claim = ?", token).
		Where("wd.status = ?", StatusPending).
		OrderExpr("wd.id").
		Scan(ctx, &batch)
	return batch, token, err
}

// deliver makes one attempt and records it, if the claim still holds.
func (w *Worker) deliver(ctx context.Context, c *claimed, token string) {
	code, errText := 0, ""
	if !c.Enabled {
		errText = "Endpoint disabled."
	} else {
		code, errText = w.send(ctx, c)
	}
	if ctx.Err() != nil && code == 0 {
		return // stopping: the lease expires and another attempt follows
	}
	t := clock.Now()
	upd := w.db.NewUpdate().Model((*Delivery)(nil)).
		Set("attempts = attempts + 1").
		Set("last_attempt_at = ?", t).
		Set("locked_until = NULL").
		Set("claim = NULL").
		Where("account_id = ?", c.AccountID).
		Where("id = ?", c.ID).
		Where("claim = ?", token)
	if code != 0 {
		upd = upd.Set("last_response_code = ?", code)
	} else {
		upd = upd.Set("last_response_code = NULL")
	}
	switch {
	case code >= 200 && code < 300:
		upd = upd.Set("status = ?", StatusSucceeded).Set("delivered_at = ?", t).Set("last_error = ''")
	case !c.Enabled:
		upd = upd.Set("status = ?", StatusFailed).Set("last_error = ?", errText)
	default:
		next := t.Add(w.backoff(c.Attempts + 1))
		if next.After(c.GiveUpAt) {
			upd = upd.Set("status = ?", StatusFailed)
		} else {
			upd = upd.Set("next_attempt_at = ?", next)
		}
		upd = upd.Set("last_error = ?", errText)
	}
	if _, err := upd.Exec(context.WithoutCancel(ctx)); err != nil {
		w.log.Error("webhooks: record attempt failed", "delivery", c.ID, "error", err.Error())
	}
}

// send POSTs the event and returns the response code (0 when none came) and
// an error text ("" on a 2xx).
func (w *Worker) send(ctx context.Context, c *claimed) (int, string) {
	body := []byte(c.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "Invalid URL."
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crm-webhooks/1")
	req.Header.Set(SignatureHeader, Sign(c.Secret, time.Now(), body))
	req.Header.Set("Crm-Event-Id", c.EventID)
	req.Header.Set("Crm-Event-Type", c.EventType)
	req.Header.Set("Crm-Delivery-Id", strconv.FormatInt(c.ID, 10))
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, describe(err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, ""
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if len(snippet) > 0 {
		msg += ": " + string(bytes.ToValidUTF8(snippet, nil))
	}
	return resp.StatusCode, msg
}

// describe turns a transport error into a short public text.
func describe(err error) string {
	var ue interface{ Timeout() bool }
	switch {
	case errors.Is(err, errPrivate) || isSSRF(err):
		return "Refused: the address is private, loopback, link-local or reserved."
	case errors.As(err, &ue) && ue.Timeout():
		return "Timed out."
	}
	s := err.Error()
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}

// backoff is the delay before attempt n+1 after n failed ones: RetryBase
// doubled n-1 times, capped at RetryMax, with "equal jitter" (between half
// and all of it) so many failing endpoints do not retry in step.
func (w *Worker) backoff(n int) time.Duration {
	d := w.opts.RetryBase
	for i := 1; i < n && d < w.opts.RetryMax; i++ {
		d *= 2
	}
	if d > w.opts.RetryMax {
		d = w.opts.RetryMax
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	j, err := rand.Int(rand.Reader, big.NewInt(int64(half)+1))
	if err != nil {
		return d
	}
	return half + time.Duration(j.Int64())
}
