package readme

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// imports are the packages a README sample may use without saying so, by
// the name it uses them under.
var imports = map[string]string{
	"context":        "context",
	"errors":         "errors",
	"fmt":            "fmt",
	"testing":        "testing",
	"time":           "time",
	"herd":           "github.com/herd-project/herd",
	"acl":            "github.com/herd-project/herd/acl",
	"controller":     "github.com/herd-project/herd/controller",
	"controllertest": "github.com/herd-project/herd/controller/controllertest",
	"fakeprovider":   "github.com/herd-project/herd/provider/fakeprovider",
	"models":         "github.com/herd-project/herd/models",
	"net":            "net",
	"apiserver":      "github.com/herd-project/herd/apiserver",
	"apiservertest":  "github.com/herd-project/herd/apiserver/apiservertest",
	"client":         "github.com/herd-project/herd/client",
}

// samples are the ```go blocks of README.md, in order.
func samples(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?ms)^```go\n(.*?)^```$").FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	if len(out) < 2 {
		t.Fatalf("README.md has %d Go samples, want at least 2 (A taste, Testing your code with Herd)", len(out))
	}
	return out
}

// file makes a sample a Go file of package sample: the imports it uses,
// then the sample as written.
func file(src string) string {
	var used []string
	for name, path := range imports {
		if regexp.MustCompile(`\b` + name + `\.`).MatchString(src) {
			used = append(used, fmt.Sprintf("\t%q\n", path))
		}
	}
	sort.Strings(used)
	return "package sample\n\nimport (\n" + strings.Join(used, "") + ")\n\n" + src
}

// runners are the sample functions that take a context and return an
// error: a generated test runs each, so the samples stay true, not only
// well-typed.
func runners(t *testing.T, name, src string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
	if err != nil {
		t.Fatalf("%s does not parse: %v\n%s", name, err, src)
	}
	var out []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Type.Params.NumFields() != 1 || fn.Type.Results.NumFields() != 1 {
			continue
		}
		p, ok := fn.Type.Params.List[0].Type.(*ast.SelectorExpr)
		r, ok2 := fn.Type.Results.List[0].Type.(*ast.Ident)
		if ok && ok2 && p.Sel.Name == "Context" && r.Name == "error" {
			out = append(out, fn.Name.Name)
		}
	}
	return out
}

// TestREADMESamples writes each sample into a package inside this module
// (under testdata, so that ./... never sees it), then runs go vet and go
// test on it: a sample that a user could not paste fails here.
func TestREADMESamples(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to vet the README samples")
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "sample")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		os.Remove("testdata") // only if empty
	})
	var run []string
	for i, src := range samples(t) {
		name := fmt.Sprintf("sample%d.go", i+1)
		if strings.Contains(src, "func Test") {
			name = fmt.Sprintf("sample%d_test.go", i+1)
		}
		body := file(src)
		run = append(run, runners(t, name, body)...)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(run) > 0 {
		var b strings.Builder
		b.WriteString("package sample\n\nimport \"testing\"\n\nfunc TestRunSamples(t *testing.T) {\n")
		for _, fn := range run {
			fmt.Fprintf(&b, "\tif err := %s(t.Context()); err != nil {\n\t\tt.Errorf(\"%s: %%v\", err)\n\t}\n", fn, fn)
		}
		b.WriteString("}\n")
		if err := os.WriteFile(filepath.Join(dir, "run_test.go"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkg := "./" + filepath.ToSlash(dir)
	for _, args := range [][]string{{"vet", pkg}, {"test", "-count=1", pkg}} {
		cmd := exec.Command("go", args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s on the README samples: %v\n%s\n%s", strings.Join(args, " "), err, out, listing(dir))
		}
	}
}

// listing shows the generated files with line numbers, for a failure.
func listing(dir string) string {
	var b strings.Builder
	names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, n := range names {
		src, _ := os.ReadFile(n)
		fmt.Fprintf(&b, "--- %s\n", filepath.Base(n))
		for i, line := range strings.Split(string(src), "\n") {
			fmt.Fprintf(&b, "%3d %s\n", i+1, line)
		}
	}
	return b.String()
}

// TestGoDoc checks what README's "go doc and the LXD client's modules"
// says: go doc by import path works in this module, which needs the whole
// module graph (go list -m all) to be fetchable from the module proxy.
func TestGoDoc(t *testing.T) {
	for _, args := range [][]string{
		{"list", "-m", "all"},
		{"doc", "github.com/herd-project/herd/store"},
		{"doc", "github.com/herd-project/herd/controller/controllertest", "Fixture"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s: %v\n%s(see README.md, \"go doc and the LXD client's modules\")", strings.Join(args, " "), err, out)
		}
	}
}
