// Package authz answers, from the Casbin policy files, the two questions every
// module asks: may this caller do ACTION on OBJECT in this account, and over
// what scope; and, on one row, the scope rule every module applies the same
// way (rule.go). It reloads the files while the server runs and keeps the old
// policy when a new one does not load.
package authz

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"crm/platform/auth"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	stringadapter "github.com/casbin/casbin/v2/persist/string-adapter"
)

// Scope is how far a permission reaches.
type Scope uint8

const (
	// None: not allowed.
	None Scope = iota
	// Own: only the caller's own employee row.
	Own
	// Assigned: rows assigned to the caller (clients they coach, close or
	// set, and what belongs to those clients).
	Assigned
	// All: every row of the account.
	All
)

var scopeNames = map[string]Scope{"own": Own, "assigned": Assigned, "all": All}

func (s Scope) String() string {
	for k, v := range scopeNames {
		if v == s {
			return k
		}
	}
	return "none"
}

// Policy is one loaded, immutable set of policy files.
type Policy struct {
	enforcer    *casbin.Enforcer
	roles       []string
	permissions []string
	pairs       map[[2]string]bool // (object, action) seen in some line
	rank        map[[2]string]bool // role A manages role B
	cache       sync.Map           // decision key -> Scope
	implied     sync.Map           // role and account -> map[permission]bool
}

// Authorizer holds the policy in force.
type Authorizer struct {
	current  atomic.Pointer[Policy]
	dir      string // "" = embedded files
	embedded fs.FS
	mu       sync.Mutex // serialises reloads
}

// New loads the policy from dir, or from embedded when dir is "".
func New(embedded fs.FS, dir string) (*Authorizer, error) {
	a := &Authorizer{dir: dir, embedded: embedded}
	p, err := a.load()
	if err != nil {
		return nil, err
	}
	a.current.Store(p)
	return a, nil
}

// Dir is the folder the policy is read from ("" for the embedded files).
func (a *Authorizer) Dir() string { return a.dir }

// Reload reads the files again. On any error the policy in force stays.
func (a *Authorizer) Reload() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.load()
	if err != nil {
		return err
	}
	a.current.Store(p)
	return nil
}

func (a *Authorizer) source() fs.FS {
	if a.dir == "" {
		return a.embedded
	}
	return os.DirFS(a.dir)
}

func (a *Authorizer) load() (*Policy, error) { return Load(a.source()) }

// Check validates the policy files of fsys, naming the file and line at fault.
func Check(fsys fs.FS) error {
	_, err := Load(fsys)
	return err
}

// Load reads model.conf and every *.csv of fsys: parse, validate, build.
func Load(fsys fs.FS) (*Policy, error) {
	m, lines, err := parse(fsys)
	if err != nil {
		return nil, err
	}
	if err := validate(lines); err != nil {
		return nil, err
	}
	return build(m, lines)
}

// line is one policy line that is neither blank nor a comment: its fields,
// trimmed, and where it was written.
type line struct {
	file   string
	n      int
	fields []string
}

// errorf is an error naming the line's file and line number.
func (l line) errorf(msg string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", l.file, l.n, fmt.Sprintf(msg, args...))
}

// parse reads the model and the lines of every *.csv, in file name order.
func parse(fsys fs.FS) (model.Model, []line, error) {
	modelText, err := fs.ReadFile(fsys, "model.conf")
	if err != nil {
		return nil, nil, fmt.Errorf("model.conf: %w", err)
	}
	m, err := model.NewModelFromString(string(modelText))
	if err != nil {
		return nil, nil, fmt.Errorf("model.conf: %w", err)
	}
	files, err := fs.Glob(fsys, "*.csv")
	if err != nil {
		return nil, nil, err
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("no *.csv policy file found")
	}
	sort.Strings(files)
	var lines []line
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f, err)
		}
		for i, raw := range strings.Split(string(b), "\n") {
			text := strings.TrimSpace(raw)
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			fields := strings.Split(text, ",")
			for k := range fields {
				fields[k] = strings.TrimSpace(fields[k])
			}
			lines = append(lines, line{file: f, n: i + 1, fields: fields})
		}
	}
	return m, lines, nil
}

// validate checks each line in order, then what lines say of each other:
// g lines link declared roles, every p subject is declared, some role is.
func validate(lines []line) error {
	kinds := map[string]string{} // name -> role or permission, from g2 lines
	for _, l := range lines {
		if err := checkLine(l, kinds); err != nil {
			return err
		}
	}
	for _, l := range lines {
		if l.fields[0] == "g" && (kinds[l.fields[1]] != "role" || kinds[l.fields[2]] != "role") {
			return l.errorf("g lines link declared roles only")
		}
	}
	for _, l := range lines {
		if l.fields[0] != "p" {
			continue
		}
		if _, ok := kinds[l.fields[1]]; !ok {
			return l.errorf("subject %q is not a declared role or permission", l.fields[1])
		}
	}
	if !slices.Contains(slices.Collect(maps.Values(kinds)), "role") {
		return fmt.Errorf("no role declared (g2, NAME, role)")
	}
	return nil
}

// checkLine checks one line's shape and records a g2 line's name in kinds.
func checkLine(l line, kinds map[string]string) error {
	f := l.fields
	if slices.Contains(f, "") {
		return l.errorf("empty field")
	}
	switch f[0] {
	case "p":
		if len(f) != 6 {
			return l.errorf("a p line is: p, SUBJECT, ACCOUNT|*, OBJECT, ACTION, all|assigned|own")
		}
		if f[2] != "*" {
			if n, err := strconv.ParseInt(f[2], 10, 64); err != nil || n <= 0 {
				return l.errorf("account %q is neither * nor an account id", f[2])
			}
		}
		if _, ok := scopeNames[f[5]]; !ok {
			return l.errorf("scope %q is not all, assigned or own", f[5])
		}
	case "g":
		if len(f) != 3 {
			return l.errorf("a g line is: g, ROLE, INHERITED_ROLE")
		}
	case "g2":
		if len(f) != 3 || (f[2] != "role" && f[2] != "permission") {
			return l.errorf("a g2 line is: g2, NAME, role|permission")
		}
		if k, ok := kinds[f[1]]; ok && k != f[2] {
			return l.errorf("%q is declared both a role and a permission", f[1])
		}
		kinds[f[1]] = f[2]
	default:
		return l.errorf("unknown line type %q (want p, g or g2)", f[0])
	}
	return nil
}

// build makes the enforcer and the tables the questions read, from lines
// that passed validate: roles in the order declared, permissions sorted,
// the (object, action) pairs of the p lines, and which role manages which.
func build(m model.Model, lines []line) (*Policy, error) {
	p := &Policy{pairs: map[[2]string]bool{}, rank: map[[2]string]bool{}}
	texts := make([]string, len(lines))
	for i, l := range lines {
		f := l.fields
		switch {
		case f[0] == "p":
			p.pairs[[2]string{f[3], f[4]}] = true
		case f[0] == "g2" && f[2] == "role" && !slices.Contains(p.roles, f[1]):
			p.roles = append(p.roles, f[1])
		case f[0] == "g2" && f[2] == "permission" && !slices.Contains(p.permissions, f[1]):
			p.permissions = append(p.permissions, f[1])
		}
		texts[i] = strings.Join(f, ", ")
	}
	e, err := casbin.NewEnforcer(m, stringadapter.NewAdapter(strings.Join(texts, "\n")))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	e.EnableAutoSave(false)
	p.enforcer = e
	for _, r := range p.roles {
		for _, s := range p.roles {
			ok, err := e.GetRoleManager().HasLink(r, s)
			if err != nil {
				return nil, err
			}
			p.rank[[2]string{r, s}] = ok
		}
	}
	sort.Strings(p.permissions)
	return p, nil
}

// Policy returns the policy in force.
func (a *Authorizer) Policy() *Policy { return a.current.Load() }

// Known tells whether some policy line names object and action.
func (p *Policy) Known(object, action string) bool { return p.pairs[[2]string{object, action}] }

// Roles lists the declared roles.
func (p *Policy) Roles() []string { return p.roles }

// Permissions lists the granular permission names.
func (p *Policy) Permissions() []string { return p.permissions }

// IsRole tells whether name is a declared role.
func (p *Policy) IsRole(name string) bool { return slices.Contains(p.roles, name) }

// IsPermission tells whether name is a declared permission.
func (p *Policy) IsPermission(name string) bool {
	i := sort.SearchStrings(p.permissions, name)
	return i < len(p.permissions) && p.permissions[i] == name
}

// Manages tells whether an employee of role may manage one of role target
// (the same rank or below it).
func (p *Policy) Manages(role, target string) bool { return p.rank[[2]string{role, target}] }

// Scope answers how far subject reaches for object and action in account.
func (p *Policy) subjectScope(subject, account, object, action string) Scope {
	key := subject + "\x00" + account + "\x00" + object + "\x00" + action
	if v, ok := p.cache.Load(key); ok {
		return v.(Scope)
	}
	s := None
	for _, c := range []Scope{All, Assigned, Own} {
		ok, err := p.enforcer.Enforce(subject, account, object, action, c.String())
		if err == nil && ok {
			s = c
			break
		}
	}
	p.cache.Store(key, s)
	return s
}

// ScopeOf is the widest scope the role and permissions give for object and
// action in the account; None when nothing allows it.
func (p *Policy) ScopeOf(role string, permissions []string, accountID int64, object, action string) Scope {
	account := strconv.FormatInt(accountID, 10)
	best := p.subjectScope(role, account, object, action)
	for _, perm := range permissions {
		if best == All {
			break
		}
		if !p.IsPermission(perm) {
			continue
		}
		if s := p.subjectScope(perm, account, object, action); s > best {
			best = s
		}
	}
	return best
}

// Effective lists the permission names the caller holds, granted or implied
// by the role (a role implies a permission when it already allows every line
// of it).
func (p *Policy) Effective(role string, granted []string, accountID int64) []string {
	implied := p.impliedBy(role, accountID)
	out := []string{}
	for _, perm := range p.permissions {
		if implied[perm] || slices.Contains(granted, perm) {
			out = append(out, perm)
		}
	}
	return out
}

// impliedBy tells which permissions a role holds in an account through its
// own lines. It is fixed for the policy's life, so it is worked out once per
// role and account, not on every `me` and login.
func (p *Policy) impliedBy(role string, accountID int64) map[string]bool {
	key := role + "\x00" + strconv.FormatInt(accountID, 10)
	if v, ok := p.implied.Load(key); ok {
		return v.(map[string]bool)
	}
	m := map[string]bool{}
	for _, perm := range p.permissions {
		lines, _ := p.enforcer.GetFilteredPolicy(0, perm)
		has := len(lines) > 0
		for _, l := range lines {
			if p.ScopeOf(role, nil, accountID, l[2], l[3]) < scopeNames[l[4]] {
				has = false
			}
		}
		m[perm] = has
	}
	v, _ := p.implied.LoadOrStore(key, m)
	return v.(map[string]bool)
}

// ScopeFor answers for the caller of ctx; None without a caller.
func (a *Authorizer) ScopeFor(ctx context.Context, object, action string) Scope {
	pr := auth.FromContext(ctx)
	if pr == nil {
		return None
	}
	return a.Policy().ScopeOf(pr.Role, pr.Permissions, pr.AccountID, object, action)
}

// Files lists the policy files in force (for logs).
func (a *Authorizer) Files() []string {
	files, _ := fs.Glob(a.source(), "*.csv")
	for i := range files {
		files[i] = path.Join(a.dir, files[i])
	}
	return files
}
