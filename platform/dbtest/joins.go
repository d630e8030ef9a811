package dbtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"
)

// JoinProblem tells why query (SQL text: one statement, or several
// separated by ';', as a function or trigger body) joins tenant tables in a
// way a database distributed by account_id (Citus) could not run on one
// node: two references to tenant tables in one query (joined, or one in a
// subquery of the other) whose account_id columns no equality ties
// together, directly (a.account_id = b.account_id), through other columns,
// or by each being equal to a value (a.account_id = 7 and b.account_id = 7,
// as tenant.Scope writes). tenant tells which tables are tenant tables.
// It returns "" when every such pair is tied.
//
// It reads SQL as text, not as PostgreSQL would: it finds table references
// after FROM, JOIN, UPDATE, INSERT INTO and USING, resolves aliases through
// nested queries, and takes every "x = y" and "x IN (…)" as a tie, whatever
// AND, OR or NOT surround it. Two account values that are both constants
// count as tied even when the constants differ. The target of an INSERT is
// not a reference (its rows come from the query). References in the arms of
// a UNION are not tied to each other; those in a WITH query are checked
// with the statement that uses it, through the WITH query's columns, which
// it cannot follow: such a statement is reported.
func JoinProblem(query string, tenant func(table string) bool) string {
	toks := lex(query)
	p := &joinParser{toks: toks, blockAt: make([]*block, len(toks)), parent: map[string]string{}}
	p.scan()
	return p.check(tenant)
}

// CheckJoins fails t when a query run on one of dbs (bun's query hook sees
// every statement it sends, its arguments in place) has a JoinProblem,
// once per problem. tenant is TenantTables of the database. Statements
// after t ended are not checked.
func CheckJoins(t testing.TB, tenant map[string]bool, dbs ...*bun.DB) {
	h := &joinHook{t: t, tenant: tenant, on: true, seen: map[string]bool{}}
	t.Cleanup(func() {
		h.mu.Lock()
		h.on = false
		h.mu.Unlock()
	})
	seen := map[*bun.DB]bool{}
	for _, d := range dbs {
		if !seen[d] {
			seen[d] = true
			d.AddQueryHook(h)
		}
	}
}

type joinHook struct {
	t      testing.TB
	tenant map[string]bool
	mu     sync.Mutex
	on     bool
	seen   map[string]bool // problems reported (once each)
}

func (h *joinHook) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h *joinHook) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	problem := JoinProblem(e.Query, func(table string) bool { return h.tenant[table] })
	if problem == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.on && !h.seen[problem] {
		h.seen[problem] = true
		h.t.Errorf("a query joins tenant tables without account_id (Citus could not run it on one node): %s\n%s", problem, e.Query)
	}
}

// ------------------------------------------------------------ the lexer

type tokKind byte

const (
	tIdent tokKind = iota // a name, qualified ones joined: "c.account_id"
	tConst                // a number, a string or a parameter
	tPunct                // ( ) , ; and operators
)

type tok struct {
	kind tokKind
	text string
}

func lex(s string) []tok {
	var out []tok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			i = span(s, i, func(b byte) bool { return b != '\n' })
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case c == '\'':
			i = quotedEnd(s, i)
			out = append(out, tok{tConst, "'"})
		case c == '"':
			j := span(s, i+1, func(b byte) bool { return b != '"' })
			out = appendIdent(out, strings.ToLower(s[i+1:min(j, len(s))]))
			i = j + 1
		case c == '$' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := span(s, i+1, isDigit)
			out = append(out, tok{tConst, s[i:j]})
			i = j
		case c == '$':
			end, ok := dollarQuotedEnd(s, i)
			if !ok {
				return out
			}
			i = end
			out = append(out, tok{tConst, "'"})
		case c == '?':
			out = append(out, tok{tConst, "?"})
			i++
		case c >= '0' && c <= '9':
			j := span(s, i, func(b byte) bool { return isDigit(b) || b == '.' })
			out = append(out, tok{tConst, s[i:j]})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := span(s, i, func(b byte) bool {
				return b == '_' || b == '$' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || isDigit(b)
			})
			out = appendIdent(out, strings.ToLower(s[i:j]))
			i = j
		case c == '.':
			out = append(out, tok{tPunct, "."})
			i++
		case strings.IndexByte("(),;[]", c) >= 0:
			out = append(out, tok{tPunct, string(c)})
			i++
		default:
			j := span(s, i, func(b byte) bool { return strings.IndexByte("<>=!~+-*/%^|&#@:", b) >= 0 })
			if j == i {
				j++
			}
			out = append(out, tok{tPunct, s[i:j]})
			i = j
		}
	}
	return out
}

// span is the end of the run of bytes from i that ok accepts.
func span(s string, i int, ok func(byte) bool) int {
	for i < len(s) && ok(s[i]) {
		i++
	}
	return i
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// quotedEnd is the end of the string literal at i (” inside it is a
// quote), or past the end of s when it is not closed.
func quotedEnd(s string, i int) int {
	i++
	for i < len(s) {
		if s[i] == '\'' {
			if i+1 < len(s) && s[i+1] == '\'' {
				i += 2
				continue
			}
			break
		}
		i++
	}
	return i + 1
}

// dollarQuotedEnd is the end of the dollar-quoted string at i ($tag$ …
// $tag$); false when it is not closed.
func dollarQuotedEnd(s string, i int) (int, bool) {
	j := strings.IndexByte(s[i+1:], '$')
	if j < 0 {
		return 0, false
	}
	tag := s[i : i+j+2]
	end := strings.Index(s[i+len(tag):], tag)
	if end < 0 {
		return 0, false
	}
	return i + len(tag) + end + len(tag), true
}

// appendIdent adds a name, joining it to "x." before it.
func appendIdent(out []tok, name string) []tok {
	if n := len(out); n >= 2 && out[n-1].text == "." && out[n-2].kind == tIdent {
		out[n-2].text += "." + name
		return out[:n-1]
	}
	return append(out, tok{tIdent, name})
}

// ------------------------------------------------------------ the parser

// block is one query (SELECT, UPDATE, …): the tables it references.
type block struct {
	parent  *block
	top     *block // the outermost query of its statement (or UNION arm)
	refs    []int
	aliases map[string]int
	// while reading it
	expectTable, inFrom, insert bool
}

type ref struct {
	table, alias string
	top          *block
	insert       bool
}

type group struct {
	b       *block
	isBlock bool // the parentheses hold the query b itself
}

type joinParser struct {
	toks    []tok
	blockAt []*block
	refs    []ref
	parent  map[string]string // union-find over account values
}

// notAlias are the words that may follow a table name and are not its alias.
var notAlias = map[string]bool{
	"where": true, "join": true, "inner": true, "left": true, "right": true, "full": true, "cross": true,
	"natural": true, "on": true, "using": true, "group": true, "order": true, "having": true, "limit": true,
	"offset": true, "set": true, "returning": true, "union": true, "except": true, "intersect": true,
	"window": true, "for": true, "values": true, "default": true, "select": true, "lateral": true,
	"and": true, "or": true, "not": true, "when": true, "then": true, "else": true, "end": true,
	"begin": true, "do": true, "as": true, "only": true, "fetch": true,
}

// endsFrom are the words after which a comma no longer lists tables.
var endsFrom = map[string]bool{
	"where": true, "on": true, "group": true, "order": true, "having": true, "limit": true, "offset": true,
	"set": true, "returning": true, "window": true, "values": true, "for": true, "select": true,
}

func newBlock(parent *block) *block {
	b := &block{parent: parent, aliases: map[string]int{}}
	b.top = b
	if parent != nil {
		b.top = parent.top
	}
	return b
}

func (p *joinParser) word(i int) string {
	if i < 0 || i >= len(p.toks) {
		return ""
	}
	return p.toks[i].text
}

// scan finds the queries and their table references.
func (p *joinParser) scan() {
	stack := []group{{b: newBlock(nil), isBlock: true}}
	for i := 0; i < len(p.toks); i++ {
		g := &stack[len(stack)-1]
		b := g.b
		p.blockAt[i] = b
		t := p.toks[i]
		switch {
		case t.text == "(":
			next := p.word(i + 1)
			if next == "select" || next == "with" {
				b.expectTable = false
				nb := newBlock(b)
				stack = append(stack, group{b: nb, isBlock: true})
			} else {
				stack = append(stack, group{b: b})
			}
			continue
		case t.text == ")":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		case t.text == ";" && len(stack) == 1:
			g.b = newBlock(nil)
			continue
		case t.text == "," && g.isBlock && b.inFrom:
			b.expectTable = true
			continue
		case t.kind != tIdent:
			continue
		}
		if b.expectTable && !notAlias[t.text] {
			i = p.tableRef(b, i)
			continue
		}
		if !g.isBlock {
			continue
		}
		prev := p.word(i - 1)
		switch t.text {
		case "from":
			if prev != "distinct" {
				b.expectTable, b.inFrom = true, true
			}
		case "join", "using":
			b.expectTable, b.inFrom = true, true
		case "into":
			if prev == "insert" {
				b.expectTable, b.insert = true, true
			}
		case "update":
			switch prev {
			case "", ";", "(", ")", "then", "else", "begin", "loop":
				b.expectTable = true
			}
		case "union", "intersect", "except":
			nb := newBlock(b.parent)
			g.b = nb
		default:
			if endsFrom[t.text] {
				b.expectTable, b.inFrom = false, false
			}
		}
	}
}

// tableRef reads the table named at token i (and its alias) into block b,
// and returns the index of its last token.
func (p *joinParser) tableRef(b *block, i int) int {
	insert := b.insert
	b.expectTable, b.insert = false, false
	if p.word(i+1) == "(" {
		return i // a function's rows, or the columns of an INSERT
	}
	name := p.toks[i].text
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 {
		name = name[dot+1:] // schema.table
	}
	alias := name
	j := i + 1
	if p.word(j) == "as" {
		j++
	}
	if j < len(p.toks) && p.toks[j].kind == tIdent && !notAlias[p.toks[j].text] {
		alias = p.toks[j].text
		for k := i + 1; k <= j; k++ {
			p.blockAt[k] = b
		}
		i = j
	}
	b.aliases[alias] = len(p.refs)
	b.refs = append(b.refs, len(p.refs))
	p.refs = append(p.refs, ref{table: name, alias: alias, top: b.top, insert: insert})
	return i
}

// node names the value of the column name seen at token i: a reference's
// column ("3.account_id"), or the name itself when no reference has it.
func (p *joinParser) node(name string, i int) string {
	b := p.blockAt[i]
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 {
		q, col := name[:dot], name[dot+1:]
		if d := strings.LastIndexByte(q, '.'); d >= 0 {
			q = q[d+1:] // schema.table.column
		}
		for x := b; x != nil; x = x.parent {
			if r, ok := x.aliases[q]; ok {
				return fmt.Sprintf("%d.%s", r, col)
			}
		}
		return "?" + name
	}
	for x := b; x != nil; x = x.parent {
		if len(x.refs) == 1 {
			return fmt.Sprintf("%d.%s", x.refs[0], name)
		}
		if len(x.refs) > 1 {
			break
		}
	}
	return fmt.Sprintf("?%s@%p", name, b)
}

// valueWords are names that are values, not columns.
var valueWords = map[string]bool{"null": true, "true": true, "false": true, "current_date": true,
	"current_timestamp": true, "localtimestamp": true, "excluded": true, "any": true, "all": true}

// operand is the value at token i read as the right side of "=": a
// column's node, or "const" for anything else (a value, a function, an
// expression). "" when there is nothing to tie.
func (p *joinParser) operand(i int) string {
	if i >= len(p.toks) {
		return ""
	}
	t := p.toks[i]
	switch {
	case t.kind == tConst:
		return "const"
	case t.kind == tIdent:
		if valueWords[t.text] || p.word(i+1) == "(" {
			return "const"
		}
		return p.node(t.text, i)
	case t.text == "(" || t.text == "-":
		return "const"
	}
	return ""
}

// leftOperand is the value ending at token i, the left side of "=".
func (p *joinParser) leftOperand(i int) string {
	for i >= 2 && p.word(i-1) == "::" {
		i -= 2 // a cast: the value before it
	}
	if i < 0 {
		return ""
	}
	t := p.toks[i]
	switch {
	case t.kind == tConst || t.text == ")":
		return "const"
	case t.kind == tIdent && !valueWords[t.text]:
		return p.node(t.text, i)
	case t.kind == tIdent:
		return "const"
	}
	return ""
}

func (p *joinParser) find(x string) string {
	for {
		up, ok := p.parent[x]
		if !ok {
			return x
		}
		x = up
	}
}

func (p *joinParser) union(a, b string) {
	if a == "" || b == "" {
		return
	}
	if ra, rb := p.find(a), p.find(b); ra != rb {
		p.parent[ra] = rb
	}
}

// closing returns the index of the parenthesis that closes the one at i.
func (p *joinParser) closing(i int) int {
	depth := 0
	for j := i; j < len(p.toks); j++ {
		switch p.toks[j].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(p.toks)
}

// items splits the tokens from..to (excluded) at the commas outside
// parentheses, giving each item's first and last token.
func (p *joinParser) items(from, to int) [][2]int {
	var out [][2]int
	depth, start := 0, from
	for j := from; j < to; j++ {
		switch p.toks[j].text {
		case "(":
			depth++
		case ")":
			depth--
		case ",":
			if depth == 0 {
				out = append(out, [2]int{start, j - 1})
				start = j + 1
			}
		}
	}
	return append(out, [2]int{start, to - 1})
}

// itemValue is the node of a select-list or row item: a lone column
// (with its alias), else "const".
func (p *joinParser) itemValue(it [2]int) string {
	if it[0] == it[1] || it[0]+2 == it[1] && p.word(it[0]+1) == "as" {
		return p.operand(it[0])
	}
	return "const"
}

// tie records the equalities: "x = y", and "x IN (…)" or "(x, y) IN
// (SELECT a, b …)" pairwise.
func (p *joinParser) tie() {
	for i, t := range p.toks {
		switch {
		case t.text == "=" && i > 0:
			p.union(p.leftOperand(i-1), p.operand(i+1))
		case t.text == "in" && p.word(i+1) == "(":
			var left []string
			if p.word(i-1) == ")" {
				open := i - 1
				for depth := 0; open >= 0; open-- {
					if p.toks[open].text == ")" {
						depth++
					} else if p.toks[open].text == "(" {
						if depth--; depth == 0 {
							break
						}
					}
				}
				for _, it := range p.items(open+1, i-1) {
					left = append(left, p.itemValue(it))
				}
			} else {
				left = []string{p.leftOperand(i - 1)}
			}
			end := p.closing(i + 1)
			if p.word(i+2) != "select" {
				for _, l := range left {
					p.union(l, "const")
				}
				continue
			}
			listEnd := end
			for j := i + 3; j < end; j++ {
				if p.word(j) == "from" && p.blockAt[j] == p.blockAt[i+3] {
					listEnd = j
					break
				}
			}
			for k, it := range p.items(i+3, listEnd) {
				if k < len(left) {
					p.union(left[k], p.itemValue(it))
				}
			}
		}
	}
}

func (p *joinParser) check(tenant func(string) bool) string {
	p.tie()
	byTop := map[*block][]int{}
	var tops []*block
	for i, r := range p.refs {
		if r.insert || !tenant(r.table) {
			continue
		}
		if byTop[r.top] == nil {
			tops = append(tops, r.top)
		}
		byTop[r.top] = append(byTop[r.top], i)
	}
	var problems []string
	for _, top := range tops {
		rs := byTop[top]
		if len(rs) < 2 {
			continue
		}
		groups := map[string][]string{}
		var order []string
		for _, r := range rs {
			root := p.find(fmt.Sprintf("%d.account_id", r))
			if groups[root] == nil {
				order = append(order, root)
			}
			groups[root] = append(groups[root], p.refs[r].table+" AS "+p.refs[r].alias)
		}
		if len(order) < 2 {
			continue
		}
		var parts []string
		for _, root := range order {
			parts = append(parts, "{"+strings.Join(groups[root], ", ")+"}")
		}
		problems = append(problems, "no account_id equality ties "+strings.Join(parts, " to "))
	}
	return strings.Join(problems, "; ")
}
