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

// Load reads model.conf and every *.csv of fsys.
func Load(fsys fs.FS) (*Policy, error) {
	modelText, err := fs.ReadFile(fsys, "model.conf")
	if err != nil {
		return nil, fmt.Errorf("model.conf: %w", err)
	}
	m, err := model.NewModelFromString(string(modelText))
	if err != nil {
		return nil, fmt.Errorf("model.conf: %w", err)
	}
	files, err := fs.Glob(fsys, "*.csv")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.csv policy file found")
	}
	sort.Strings(files)
	p := &Policy{pairs: map[[2]string]bool{}, rank: map[[2]string]bool{}}
	kinds := map[string]string{}
	var lines []string
	type at struct {
		file string
		line int
	}
	var inherit [][2]string
	var inheritAt []at
	var subjects []string
	var subjectsAt []at
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for i, raw := range strings.Split(string(b), "\n") {
			line := strings.TrimSpace(raw)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			fields := strings.Split(line, ",")
			for k := range fields {
				fields[k] = strings.TrimSpace(fields[k])
				if fields[k] == "" {
					return nil, fmt.Errorf("%s:%d: empty field", f, i+1)
				}
			}
			bad := func(msg string, args ...any) error {
				return fmt.Errorf("%s:%d: %s", f, i+1, fmt.Sprintf(msg, args...))
			}
			switch fields[0] {
			case "p":
				if len(fields) != 6 {
					return nil, bad("a p line is: p, SUBJECT, ACCOUNT|*, OBJECT, ACTION, all|assigned|own")
				}
				if fields[2] != "*" {
					if n, err := strconv.ParseInt(fields[2], 10, 64); err != nil || n <= 0 {
						return nil, bad("account %q is neither * nor an account id", fields[2])
					}
				}
				if _, ok := scopeNames[fields[5]]; !ok {
					return nil, bad("scope %q is not all, assigned or own", fields[5])
				}
				p.pairs[[2]string{fields[3], fields[4]}] = true
				subjects = append(subjects, fields[1])
				subjectsAt = append(subjectsAt, at{f, i + 1})
			case "g":
				if len(fields) != 3 {
					return nil, bad("a g line is: g, ROLE, INHERITED_ROLE")
				}
				inherit = append(inherit, [2]string{fields[1], fields[2]})
				inheritAt = append(inheritAt, at{f, i + 1})
			case "g2":
				if len(fields) != 3 || (fields[2] != "role" && fields[2] != "permission") {
					return nil, bad("a g2 line is: g2, NAME, role|permission")
				}
				if k, ok := kinds[fields[1]]; ok && k != fields[2] {
					return nil, bad("%q is declared both a role and a permission", fields[1])
				}
				if _, ok := kinds[fields[1]]; !ok {
					if fields[2] == "role" {
						p.roles = append(p.roles, fields[1])
					} else {
						p.permissions = append(p.permissions, fields[1])
					}
				}
				kinds[fields[1]] = fields[2]
			default:
				return nil, bad("unknown line type %q (want p, g or g2)", fields[0])
			}
			lines = append(lines, strings.Join(fields, ", "))
		}
	}
	for i, in := range inherit {
		if kinds[in[0]] != "role" || kinds[in[1]] != "role" {
			return nil, fmt.Errorf("%s:%d: g lines link declared roles only", inheritAt[i].file, inheritAt[i].line)
		}
	}
	for i, s := range subjects {
		if _, ok := kinds[s]; !ok {
			return nil, fmt.Errorf("%s:%d: subject %q is not a declared role or permission", subjectsAt[i].file, subjectsAt[i].line, s)
		}
	}
	if len(p.roles) == 0 {
		return nil, fmt.Errorf("no role declared (g2, NAME, role)")
	}
	e, err := casbin.NewEnforcer(m, stringadapter.NewAdapter(strings.Join(lines, "\n")))
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
func (p *Policy) IsRole(name string) bool {
	for _, r := range p.roles {
		if r == name {
			return true
		}
	}
	return false
}

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
