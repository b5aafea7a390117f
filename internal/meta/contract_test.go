package meta

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// literalsThatAreAlsoWords are values of the contract that plugins use as
// ordinary words too (a config field named "late", try_catch's "error").
var literalsThatAreAlsoWords = map[string]bool{"error": true, "late": true}

// TestPluginsSpellNoContractKeyAsLiteral is the rule of issue 15: every key
// and class the plugins exchange is named through this package, so a
// rename is one change the compiler carries everywhere.
func TestPluginsSpellNoContractKeyAsLiteral(t *testing.T) {
	values := contractValues(t)
	root := filepath.Join("..", "..", "plugins")
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join("..", ".."), path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && values[s] != "" && !literalsThatAreAlsoWords[s] {
				found = append(found, rel+": "+lit.Value+" (meta."+values[s]+")")
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(found)
	for _, f := range found {
		t.Errorf("contract key as a literal: %s", f)
	}
	if len(values) < 40 {
		t.Fatalf("read %d contract values from this package, expected every key", len(values))
	}
}

// contractValues maps each string constant of this package to its name.
func contractValues(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, err := strconv.Unquote(lit.Value); err == nil && len(s) > 1 {
							out[s] = name.Name
						}
					}
				}
			}
		}
	}
	return out
}
