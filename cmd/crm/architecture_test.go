package main

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The house rules of docs/architecture.md, checked on the sources: each
// table has one owner (the module of its migrations folder), and only the
// owner declares a model of it or names it (or a function of its
// migrations) in SQL; a module imports no other module; a test-helper
// package is imported by tests alone; the interfaces between modules are the
// ones cmd/crm binds.

// root is the repository, from cmd/crm.
const root = "../.."

// goFile is one parsed Go file, dir relative to root ("modules/billing").
type goFile struct {
	path, dir string
	test      bool
	ast       *ast.File
}

func parseSources(t *testing.T) []goFile {
	t.Helper()
	var files []goFile
	fset := token.NewFileSet()
	for _, top := range []string{"cmd", "modules", "platform"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			files = append(files, goFile{path: rel, dir: pathDir(rel), test: strings.HasSuffix(rel, "_test.go"), ast: f})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 50 {
		t.Fatalf("parsed only %d Go files under %s", len(files), root)
	}
	return files
}

func pathDir(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[:i]
	}
	return ""
}

// within tells whether dir is the package owner or one below it.
func within(dir, owner string) bool { return dir == owner || strings.HasPrefix(dir, owner+"/") }

// moduleOf is "billing" for "modules/billing/..." and "" outside modules/.
func moduleOf(dir string) string {
	rest, ok := strings.CutPrefix(dir, "modules/")
	if !ok {
		return ""
	}
	m, _, _ := strings.Cut(rest, "/")
	return m
}

// testHelper tells whether a package (its directory or import path) is a
// test helper: its name ends in "test" (apptest, identitytest).
func testHelper(pkg string) bool {
	return strings.HasSuffix(pkg[strings.LastIndex(pkg, "/")+1:], "test")
}

// markdownTable returns the rows of the table of doc whose header row is
// header, each cell trimmed of spaces and backquotes.
func markdownTable(t *testing.T, doc, header string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, doc))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == header:
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "|"):
			var cells []string
			for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
				cells = append(cells, strings.Trim(strings.TrimSpace(c), "`"))
			}
			rows = append(rows, cells)
		case in:
			in = false
		}
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no table headed %q", doc, header)
	}
	return rows
}

// owners reads the ownership table of docs/architecture.md: table -> owner.
func owners(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range markdownTable(t, "docs/architecture.md", "| table | owner |") {
		if len(r) != 2 || out[r[0]] != "" {
			t.Fatalf("docs/architecture.md: bad or repeated row %q", r)
		}
		out[r[0]] = r[1]
	}
	return out
}

var (
	createTable    = regexp.MustCompile(`(?i)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?([a-z_][a-z0-9_]*)`)
	createFunction = regexp.MustCompile(`(?i)\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+"?([a-z_][a-z0-9_]*)`)
)

// migrationObjects returns the tables and SQL functions the migrations
// create, each with the folder (module) that creates it.
func migrationObjects(t *testing.T) (tables, functions map[string]string) {
	t.Helper()
	tables, functions = map[string]string{}, map[string]string{}
	paths, err := filepath.Glob(filepath.Join(root, "migrations", "*", "*", "*.sql"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no migrations found (%v)", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		folder := filepath.Base(filepath.Dir(filepath.Dir(p)))
		for _, m := range createTable.FindAllStringSubmatch(string(b), -1) {
			tables[strings.ToLower(m[1])] = folder
		}
		for _, m := range createFunction.FindAllStringSubmatch(string(b), -1) {
			functions[strings.ToLower(m[1])] = folder
		}
	}
	return tables, functions
}

// folderOwner is where the objects of a migrations folder may be used: the
// module of that name, else (platform, rls) the platform.
func folderOwner(folder string) string {
	if _, err := os.Stat(filepath.Join(root, "modules", folder)); err == nil {
		return "modules/" + folder
	}
	return "platform"
}

func TestOwnershipTableMatchesMigrations(t *testing.T) {
	doc := owners(t)
	tables, _ := migrationObjects(t)
	for table, folder := range tables {
		owner, ok := doc[table]
		switch {
		case !ok:
			t.Errorf("docs/architecture.md: table %s (migrations/%s) has no row", table, folder)
		case !within(owner, folderOwner(folder)):
			t.Errorf("docs/architecture.md: table %s is created in migrations/%s but owned by %s", table, folder, owner)
		}
	}
	for table, owner := range doc {
		if _, ok := tables[table]; !ok {
			t.Errorf("docs/architecture.md: %s (owner %s) is no table of the migrations", table, owner)
		}
		if st, err := os.Stat(filepath.Join(root, owner)); err != nil || !st.IsDir() {
			t.Errorf("docs/architecture.md: the owner of %s, %s, is no package", table, owner)
		}
	}
}

// TestModelsOnlyInTheOwner: a `bun:"table:X"` model of a table of the
// migrations is declared in X's owner only, test files included.
func TestModelsOnlyInTheOwner(t *testing.T) {
	doc := owners(t)
	n := 0
	for _, f := range parseSources(t) {
		ast.Inspect(f.ast, func(node ast.Node) bool {
			field, ok := node.(*ast.Field)
			if !ok || field.Tag == nil {
				return true
			}
			tag, err := strconv.Unquote(field.Tag.Value)
			if err != nil {
				return true
			}
			bunTag, ok := strings.CutPrefix(reflect.StructTag(tag).Get("bun"), "table:")
			if !ok {
				return true
			}
			table, _, _ := strings.Cut(bunTag, ",")
			n++
			if owner, ok := doc[table]; ok && !within(f.dir, owner) {
				t.Errorf("%s declares a model of %s, which %s owns", f.path, table, owner)
			}
			return true
		})
	}
	if n < len(doc) {
		t.Fatalf("found %d table models, fewer than the %d owned tables", n, len(doc))
	}
}

var (
	// sqlTable finds a table name after the SQL words that take one.
	sqlTable = regexp.MustCompile(`\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+"?([a-z_][a-z0-9_]*)`)
	// sqlCall finds the name of a function called.
	sqlCall = regexp.MustCompile(`\b([a-z_][a-z0-9_]*)\s*\(`)
	// tableArg is the leading name of a Table/TableExpr/ModelTableExpr argument.
	tableArg = regexp.MustCompile(`^\s*"?([a-z_][a-z0-9_]*)`)
)

// TestSQLOnlyInTheOwner: outside tests, SQL text names a table or calls a
// function of the migrations only in its owner.
func TestSQLOnlyInTheOwner(t *testing.T) {
	doc := owners(t)
	_, functions := migrationObjects(t)
	for _, f := range parseSources(t) {
		if f.test || !(strings.HasPrefix(f.dir, "modules/") || strings.HasPrefix(f.dir, "platform/")) {
			continue // cmd/ (the seeds, the bench loader) and tests write whatever they set up
		}
		check := func(kind, name, owner string) {
			if owner != "" && !within(f.dir, owner) {
				t.Errorf("%s names the %s %s in SQL, which %s owns", f.path, kind, name, owner)
			}
		}
		ast.Inspect(f.ast, func(node ast.Node) bool {
			switch n := node.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || len(n.Args) == 0 || !slices.Contains([]string{"Table", "TableExpr", "ModelTableExpr"}, sel.Sel.Name) {
					return true
				}
				if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					if m := tableArg.FindStringSubmatch(s); m != nil {
						check("table", m[1], doc[m[1]])
					}
				}
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				s, _ := strconv.Unquote(n.Value)
				for _, m := range sqlTable.FindAllStringSubmatch(s, -1) {
					check("table", m[1], doc[m[1]])
				}
				for _, m := range sqlCall.FindAllStringSubmatch(s, -1) {
					if folder, ok := functions[m[1]]; ok {
						check("function", m[1], folderOwner(folder))
					}
				}
			}
			return true
		})
	}
}

// TestImports: a module's code imports no other module, the platform's
// imports none, and only tests import a test-helper package (which may
// import modules, to start the app as cmd/crm does).
func TestImports(t *testing.T) {
	for _, f := range parseSources(t) {
		if f.test {
			continue
		}
		helper := testHelper(f.dir)
		for _, imp := range f.ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			rel, ok := strings.CutPrefix(path, "crm/")
			if !ok {
				continue
			}
			if testHelper(rel) && !helper {
				t.Errorf("%s imports the test helper %s: only tests (and other test helpers) may", f.path, path)
			}
			if helper || moduleOf(rel) == "" {
				continue
			}
			switch {
			case strings.HasPrefix(f.dir, "platform/"):
				t.Errorf("%s imports %s: the platform never imports a module", f.path, path)
			case moduleOf(f.dir) != "" && moduleOf(f.dir) != moduleOf(rel):
				t.Errorf("%s imports %s: a module asks another through an interface bound in cmd/crm", f.path, path)
			}
		}
	}
}

// TestBindingsMatchTheDocs: the interfaces cmd/crm binds (in package
// bindings, each a func literal returning its one argument as the
// interface) are the table of docs/architecture.md.
func TestBindingsMatchTheDocs(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "bindings/bindings.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	bound := map[string]string{}
	ast.Inspect(f, func(node ast.Node) bool {
		fn, ok := node.(*ast.FuncLit)
		if !ok || fn.Type.Params.NumFields() != 1 || fn.Type.Results.NumFields() != 1 || len(fn.Body.List) != 1 {
			return true
		}
		ret, ok := fn.Body.List[0].(*ast.ReturnStmt)
		if !ok || len(ret.Results) != 1 || len(fn.Type.Params.List[0].Names) != 1 {
			return true
		}
		if id, ok := ret.Results[0].(*ast.Ident); !ok || id.Name != fn.Type.Params.List[0].Names[0].Name {
			return true
		}
		bound[typeString(fn.Type.Results.List[0].Type)] = typeString(fn.Type.Params.List[0].Type)
		return true
	})
	documented := map[string]string{}
	for _, r := range markdownTable(t, "docs/architecture.md", "| interface | asked by | answered by |") {
		if len(r) != 3 {
			t.Fatalf("docs/architecture.md: bad row %q", r)
		}
		documented[r[0]] = r[2]
	}
	if !reflect.DeepEqual(bound, documented) {
		t.Fatalf("cmd/crm binds %v; docs/architecture.md lists %v", bound, documented)
	}
}

func typeString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return "*" + typeString(e.X)
	case *ast.SelectorExpr:
		return typeString(e.X) + "." + e.Sel.Name
	case *ast.Ident:
		return e.Name
	}
	return fmt.Sprintf("%T", e)
}
