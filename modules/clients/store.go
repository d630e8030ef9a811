package clients

import (
	"context"
	"database/sql"
	"strings"

	"crm/platform/auth"
	"crm/platform/authz"
	"crm/platform/db"
	"crm/platform/emailaddr"
	"crm/platform/errs"
	"crm/platform/page"
	"crm/platform/tenant"

	"github.com/uptrace/bun"
)

// conditions are the clients table's for the scope rule: a client is
// assigned to the employees who coach, close or set it.
func conditions[Q tenant.Wherer[Q]](ctx context.Context) authz.Conditions[Q] {
	return authz.Conditions[Q]{Assigned: func(q Q) (Q, error) { return assignedToCaller(ctx, q), nil }}
}

// assignedToCaller keeps the clients the caller coaches, closes or sets.
func assignedToCaller[Q tenant.Wherer[Q]](ctx context.Context, q Q) Q {
	p := auth.FromContext(ctx)
	if p == nil {
		return q.Where("1 = 0")
	}
	id := p.EmployeeID
	return q.Where("(?TableAlias.coach_id = ? OR ?TableAlias.closer_id = ? OR ?TableAlias.setter_id = ?)", id, id, id)
}

// tie is how c stands to the caller: assigned when they coach, close or
// set it (the same rule as assignedToCaller, on a row in hand).
func tie(ctx context.Context, c *Client) authz.Tie {
	p := auth.FromContext(ctx)
	if p == nil {
		return authz.Tie{}
	}
	for _, id := range []*int64{c.CoachID, c.CloserID, c.SetterID} {
		if id != nil && *id == p.EmployeeID {
			return authz.Tie{Assigned: true}
		}
	}
	return authz.Tie{}
}

// Filter holds the list filters (zero values filter nothing).
type Filter struct {
	Status  string
	Coach   int64
	Closer  int64
	Setter  int64
	Country string
	Search  string
	// like: on PostgreSQL too, the search as a LIKE on each row rather
	// than through crm_clients_search (a page that walks the ordering's
	// index past many matches).
	like bool
	// max, when not 0, stops crm_clients_search at that many matches.
	max int64
}

// searchExpr is the search text on SQLite. On PostgreSQL the same expression
// is in the trigram index, crm_clients_search and crm_clients_count
// (migrations/clients): keep the four the same.
const searchExpr = `lower(c.first_name || ' ' || c.last_name || ' ' || c.email)`

// apply adds the filters to q, refusing a bad value with a 400.
func (f Filter) apply(q *bun.SelectQuery) (*bun.SelectQuery, error) {
	var v errs.Validation
	if f.Status != "" {
		if !validStatus(f.Status) {
			v.Add("status", "Select a valid choice: "+strings.Join(Statuses, ", ")+".")
		}
		q = q.Where("c.status = ?", f.Status)
	}
	for _, ref := range []struct {
		col string
		id  int64
	}{{"c.coach_id", f.Coach}, {"c.closer_id", f.Closer}, {"c.setter_id", f.Setter}} {
		if ref.id != 0 {
			q = q.Where("? = ?", bun.Safe(ref.col), ref.id)
		}
	}
	if f.Country != "" {
		country := strings.ToUpper(f.Country)
		if !validCountry(country) {
			v.Add("country", "Enter an ISO 3166-1 alpha-2 country code (e.g. US).")
		}
		q = q.Where("c.country = ?", country)
	}
	terms, err := searchTerms(f.Search)
	if err != nil {
		return nil, err
	}
	for i, term := range terms {
		if i == 0 && db.DialectOf(q.DB()) == db.Postgres && !f.like {
			// Under row-level security LIKE cannot use the trigram index
			// (it is not leakproof): the clients come from
			// crm_clients_search, which runs it where it can, scoped to the
			// request's account (migrations/clients). Further terms filter
			// its rows.
			var max any // NULL: every match
			if f.max > 0 {
				max = f.max
			}
			q = q.ModelTableExpr("crm_clients_search(?, ?) AS c", page.LikePattern(term), max)
			continue
		}
		q = q.Where(searchExpr+` LIKE ? ESCAPE '\'`, page.LikePattern(term))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return q, nil
}

// clientCount is one row of client_counts (migrations/clients): how many
// clients of an account (EmployeeID 0) or assigned to one employee have a
// status, spread over slot rows on PostgreSQL (a counter is the sum of its
// slots). Triggers keep it in the transaction of every write to clients.
type clientCount struct {
	bun.BaseModel `bun:"table:client_counts,alias:cc"`

	Status string
	N      int
}

// counted tells whether the counters answer how many clients the caller
// reads (scope) that match f (mine: only those assigned to the caller), and
// whose counters: the employee's, or 0 for the whole account. Any filter but
// status needs the real query.
func counted(ctx context.Context, scope authz.Scope, f Filter, mine bool) (employee int64, ok bool) {
	if f != (Filter{Status: f.Status}) {
		return 0, false
	}
	switch {
	case scope == authz.All && !mine:
		return 0, true
	case scope == authz.All || scope == authz.Assigned:
		if p := auth.FromContext(ctx); p != nil && p.EmployeeID > 0 {
			return p.EmployeeID, true
		}
	}
	return 0, false
}

// countsOf reads the counters of employee (0: the whole account) by status.
func countsOf(ctx context.Context, idb bun.IDB, employee int64) (map[string]int, error) {
	var rows []clientCount
	q, err := tenant.Scope(ctx, idb.NewSelect().Model(&rows).
		ColumnExpr("cc.status, CAST(sum(cc.n) AS BIGINT) AS n").Where("cc.employee_id = ?", employee).GroupExpr("cc.status"))
	if err != nil {
		return nil, err
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	n := make(map[string]int, len(rows))
	for _, r := range rows {
		n[r.Status] = r.N
	}
	return n, nil
}

// ordering is the list's ordering whitelist (docs/clients.md lists it).
var ordering = page.Ordering{
	Fields: map[string]string{
		"id": "c.id", "first_name": "c.first_name", "last_name": "c.last_name", "email": "c.email",
		"status": "c.status", "country": "c.country", "currency": "c.currency",
		"created_at": "c.created_at", "updated_at": "c.updated_at",
	},
	Default:  "-created_at",
	TieBreak: "c.id",
}

// load returns the client id if the caller may read it, else a 404. On
// PostgreSQL forUpdate locks the row until the transaction ends.
func (s *Service) load(ctx context.Context, idb bun.IDB, id int64, forUpdate bool) (*Client, error) {
	c := new(Client)
	q, err := authz.Visible(ctx, s.authz, "clients", idb.NewSelect().Model(c).Where("c.id = ?", id), conditions[*bun.SelectQuery](ctx))
	if err != nil {
		return nil, err
	}
	if err := db.One(ctx, q, forUpdate); err != nil {
		return nil, err
	}
	return c, nil
}

// IDByEmail returns the id of the caller's account's client with this email
// (any case); found is false when none has it. Stripe in links a customer to
// a client by its email.
func (s *Service) IDByEmail(ctx context.Context, idb bun.IDB, email string) (id int64, found bool, err error) {
	email = emailaddr.Normalize(email)
	if email == "" {
		return 0, false, nil
	}
	if db.DialectOf(idb) == db.Postgres {
		// Under row-level security lower(email) cannot use its index
		// (migrations/clients): the function finds it as the owner, in the
		// request's account.
		var id sql.NullInt64
		if err := idb.NewSelect().ColumnExpr("crm_client_by_email(?)", email).Scan(ctx, &id); err != nil {
			return 0, false, err
		}
		return id.Int64, id.Valid, nil
	}
	q, err := tenant.Scope(ctx, idb.NewSelect().Model((*Client)(nil)).Column("c.id").Where("lower(c.email) = ?", email).Limit(1))
	if err != nil {
		return 0, false, err
	}
	if err := q.Scan(ctx, &id); err != nil {
		if db.IsNoRows(err) {
			return 0, false, nil
		}
		return 0, false, err
	}
	return id, true, nil
}

// selectClients selects with idb the clients the caller can read (scope)
// that match f; mine keeps only those assigned to the caller (my_clients).
func selectClients(ctx context.Context, idb bun.IDB, scope authz.Scope, f Filter, mine bool) (*bun.SelectQuery, error) {
	q, err := authz.Narrow(ctx, idb.NewSelect().Model((*Client)(nil)), scope, conditions[*bun.SelectQuery](ctx))
	if err != nil {
		return nil, err
	}
	if mine {
		q = assignedToCaller(ctx, q)
	}
	return f.apply(q)
}

// listClients picks the plan of a page of clients (selectClients' rows) and
// runs it (docs/clients.md, "How a list is planned"). The count of a list
// filtered by status at most comes from the counters; a search on
// PostgreSQL goes through crm_clients_search and crm_clients_count; any
// other list is counted with the real query.
func listClients(ctx context.Context, idb bun.IDB, scope authz.Scope, f Filter, mine bool, r page.Request) (page.Result[Client], error) {
	q, err := selectClients(ctx, idb, scope, f, mine)
	if err != nil {
		return page.Result[Client]{}, err
	}
	employee, counters := counted(ctx, scope, f, mine)
	search := f.Search != "" && db.DialectOf(idb) == db.Postgres
	if !counters && !search {
		return page.List[Client](ctx, q, r, ordering)
	}
	terms, err := searchTerms(f.Search)
	if err != nil {
		return page.Result[Client]{}, err
	}
	expr, err := ordering.SQL(r.Ordering)
	if err != nil {
		return page.Result[Client]{}, err
	}
	// One term over the whole account: the search alone decides the rows.
	whole := search && scope == authz.All && !mine && f == (Filter{Search: f.Search}) && len(terms) == 1
	if whole {
		if out, ok, err := fewMatches(ctx, idb, f, r, expr); err != nil || ok {
			return out, err
		}
	}
	// The counters of the clients listed, or of the account for a search.
	n, err := countsOf(ctx, idb, employee)
	if err != nil {
		return page.Result[Client]{}, err
	}
	out := page.Result[Client]{Request: r}
	switch {
	case counters && f.Status != "":
		out.Count = n[f.Status]
	case counters:
		out.Count = sum(n)
	case whole:
		err = idb.NewSelect().ColumnExpr("crm_clients_count(?)", page.LikePattern(terms[0])).Scan(ctx, &out.Count)
	default:
		var c int64
		c, err = q.Count(ctx)
		out.Count = int(c)
	}
	if err != nil || r.Offset() >= out.Count {
		return out, err
	}
	// Few matches beside the account's clients: q takes them all from
	// crm_clients_search and orders them. Many: walk the ordering's index
	// with the LIKE as a filter on each row, which stops at the page.
	if search && out.Count*out.Count >= (r.Offset()+r.Limit())*sum(n) {
		f.like = true
		if q, err = selectClients(ctx, idb, scope, f, mine); err != nil {
			return page.Result[Client]{}, err
		}
	}
	err = q.Model(&out.Rows).OrderExpr(expr).Limit(int64(r.Limit())).Offset(int64(r.Offset())).Scan(ctx)
	return out, err
}

// sum is the number of clients of counters by status.
func sum(n map[string]int) (total int) {
	for _, v := range n {
		total += v
	}
	return total
}

// searchInOne is how many matches a search may have for its page and its
// count to come from one query (fewMatches).
const searchInOne = 500

// searchRow is a client of a search's page with the count of the search.
type searchRow struct {
	Client `bun:",extend"`
	Total  int `bun:"total,scanonly"`
}

// fewMatches answers a one-term search over the whole account (PostgreSQL)
// in one query when it matches at most searchInOne clients: the page, and
// the count over the same rows (a window), from one run of
// crm_clients_search stopped just past searchInOne. ok is false when the
// search matches more (the caller counts, then picks the page's plan), or
// the page is past the last match.
func fewMatches(ctx context.Context, idb bun.IDB, f Filter, r page.Request, expr string) (out page.Result[Client], ok bool, err error) {
	f.max = searchInOne + 1
	q, err := selectClients(ctx, idb, authz.All, f, false)
	if err != nil {
		return out, false, err
	}
	var rows []searchRow
	if err := q.Model(&rows).ColumnExpr("c.*").ColumnExpr("count(*) OVER () AS total").
		OrderExpr(expr).Limit(int64(r.Limit())).Offset(int64(r.Offset())).Scan(ctx); err != nil {
		return out, false, err
	}
	out.Request = r
	switch {
	case len(rows) == 0 && r.Offset() == 0:
		return out, true, nil
	case len(rows) == 0 || rows[0].Total > searchInOne:
		return out, false, nil
	}
	out.Rows, out.Count = make([]Client, len(rows)), rows[0].Total
	for i := range rows {
		out.Rows[i] = rows[i].Client
	}
	return out, true, nil
}
