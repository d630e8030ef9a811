package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"crm/platform/auth"
	"crm/platform/clock"
	"crm/platform/db"
	"crm/platform/errs"
	"crm/platform/tenant"

	"github.com/danielgtaylor/huma/v2"
	"github.com/uptrace/bun"
)

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyKeyHeader is the request header, as Stripe names it.
const IdempotencyKeyHeader = "Idempotency-Key"

// maxIdempotencyKey is the longest key accepted (Stripe's limit).
const maxIdempotencyKey = 255

// idempotencyRecord is one remembered key: which request used it and what
// it answered. A row exists only once its request has committed, with its
// answer: it is written in the request's own transaction.
type idempotencyRecord struct {
	bun.BaseModel `bun:"table:idempotency_keys,alias:ik"`

	AccountID   int64     `bun:"account_id,pk"`
	Key         string    `bun:"key,pk"`
	EmployeeID  int64     `bun:"employee_id,notnull"`
	Method      string    `bun:"method,notnull"`
	Path        string    `bun:"path,notnull"`
	RequestHash string    `bun:"request_hash,notnull"`
	Status      int       `bun:"status,notnull"`
	Response    string    `bun:"response,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

// idempotentRequest is what the operation middleware read from the request
// for the handler: the key and a fingerprint of the request.
type idempotentRequest struct {
	key      string
	method   string
	path     string
	hash     string
	replayed bool
}

type idempotencyCtxKey struct{}

// HandleIdempotent is Handle with the Idempotency-Key header honoured, as
// Stripe's API does for a retried payment:
//
//   - the first request with a key runs; its key, a fingerprint of the
//     request (employee, method, path, SHA-256 of the compacted JSON body)
//     and its answer are stored in the request's own transaction, so they
//     commit together with the write, or not at all;
//   - the same key again with the same request answers the stored status and
//     body (header Idempotent-Replayed: true) and writes nothing;
//   - the same key with another body, path or employee is 409;
//   - a second request arriving while the first runs waits for it (on the
//     key's unique index, PostgreSQL, or the write lock, SQLite) and then
//     replays its answer, so concurrent retries write once;
//   - only a successful answer is stored: an error rolls the key back with
//     everything else, and the same key may be retried;
//   - keys are per account and forgotten after IdempotencyTTL.
func HandleIdempotent[I, O any](d *bun.DB, op huma.Operation, object, action string, h func(context.Context, *I) (*O, error)) Route {
	op.Middlewares = append(op.Middlewares, readIdempotencyKey)
	op.Parameters = append(op.Parameters, &huma.Param{
		Name: IdempotencyKeyHeader, In: "header",
		Description: "Optional. A unique key (up to 255 characters) that makes a retry of this request safe: " +
			"the same key and body within 24 hours answer the first response again without writing anything; " +
			"the same key with another body is 409.",
		Schema: &huma.Schema{Type: huma.TypeString, MaxLength: intPtr(maxIdempotencyKey)},
	})
	op.Errors = append(op.Errors, http.StatusConflict)
	status := op.DefaultStatus
	if status == 0 {
		status = http.StatusOK
	}
	return Handle(op, object, action, func(ctx context.Context, in *I) (*O, error) {
		req, _ := ctx.Value(idempotencyCtxKey{}).(*idempotentRequest)
		if req == nil {
			return h(ctx, in)
		}
		return runIdempotent(ctx, d, req, status, in, h)
	})
}

func intPtr(n int) *int { return &n }

// readIdempotencyKey keeps the key and the request's fingerprint for the
// handler, and marks a replayed answer.
func readIdempotencyKey(ctx huma.Context, next func(huma.Context)) {
	key := ctx.Header(IdempotencyKeyHeader)
	if key == "" {
		next(ctx)
		return
	}
	body, _ := io.ReadAll(ctx.BodyReader())
	u := ctx.URL()
	req := &idempotentRequest{
		key:    strings.Clone(key),
		method: strings.Clone(ctx.Method()),
		path:   strings.TrimRight(u.Path, "/") + "/",
		hash:   bodyHash(body),
	}
	next(huma.WithValue(ctx, idempotencyCtxKey{}, req))
	if req.replayed {
		ctx.SetHeader("Idempotent-Replayed", "true")
	}
}

// bodyHash fingerprints a JSON body, ignoring insignificant whitespace.
func bodyHash(body []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err == nil {
		body = buf.Bytes()
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func checkIdempotencyKey(key string) error {
	if len(key) > maxIdempotencyKey {
		return errs.Invalid(IdempotencyKeyHeader, "Must be at most 255 characters.")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return errs.Invalid(IdempotencyKeyHeader, "Must be printable ASCII without spaces.")
		}
	}
	return nil
}

func runIdempotent[I, O any](ctx context.Context, d *bun.DB, req *idempotentRequest, status int, in *I, h func(context.Context, *I) (*O, error)) (*O, error) {
	if err := checkIdempotencyKey(req.key); err != nil {
		return nil, err
	}
	accountID, err := tenant.Account(ctx)
	if err != nil {
		return nil, err
	}
	caller := auth.FromContext(ctx)
	if caller == nil {
		return nil, errs.Unauthenticated("")
	}
	var out *O
	err = db.InTx(ctx, d, func(tx bun.Tx) error {
		now := clock.Now()
		if _, err := tx.NewDelete().Model((*idempotencyRecord)(nil)).
			Where("account_id = ?", accountID).Where("created_at < ?", now.Add(-IdempotencyTTL)).Exec(ctx); err != nil {
			return err
		}
		rec := &idempotencyRecord{AccountID: accountID, Key: req.key, EmployeeID: caller.EmployeeID, Method: req.method,
			Path: req.path, RequestHash: req.hash, Status: 0, Response: "null", CreatedAt: now}
		res, err := tx.NewInsert().Model(rec).On("CONFLICT (account_id, key) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			o, err := replay[O](ctx, tx, accountID, req, caller.EmployeeID)
			out = o
			return err
		}
		o, err := h(db.WithTx(ctx, tx), in)
		if err != nil {
			return err
		}
		body, err := json.Marshal(bodyOf(o))
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*idempotencyRecord)(nil)).Set("status = ?", status).Set("response = ?", string(body)).
			Where("account_id = ?", accountID).Where("key = ?", req.key).Exec(ctx); err != nil {
			return err
		}
		out = o
		return nil
	})
	return out, err
}

// replay answers a key already used: the stored answer for the same
// request, 409 for another.
func replay[O any](ctx context.Context, tx bun.Tx, accountID int64, req *idempotentRequest, employeeID int64) (*O, error) {
	prev := new(idempotencyRecord)
	if err := tx.NewSelect().Model(prev).Where("ik.account_id = ?", accountID).Where("ik.key = ?", req.key).Scan(ctx); err != nil {
		return nil, err
	}
	switch {
	case prev.Method != req.method || prev.Path != req.path:
		return nil, errs.Conflict("This Idempotency-Key was already used for another request (" + prev.Method + " " + prev.Path + "); use a new key.")
	case prev.EmployeeID != employeeID:
		return nil, errs.Conflict("This Idempotency-Key was already used by another employee; use a new key.")
	case prev.RequestHash != req.hash:
		return nil, errs.Conflict("This Idempotency-Key was already used with a different request body; use a new key.")
	case prev.Status == 0:
		return nil, errs.Conflict("A request with this Idempotency-Key is still in progress; retry later.")
	}
	out := new(O)
	if b := bodyOf(out); b != nil {
		if err := json.Unmarshal([]byte(prev.Response), b); err != nil {
			return nil, err
		}
	}
	req.replayed = true
	return out, nil
}

// bodyOf returns a pointer to the Body field of a huma output, or nil.
func bodyOf(o any) any {
	v := reflect.ValueOf(o)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("Body")
	if !f.IsValid() || !f.CanAddr() {
		return nil
	}
	return f.Addr().Interface()
}
