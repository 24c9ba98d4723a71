// Command stops lists the project's functions that one request entered:
// the functions holding a coverage block whose count grew between two
// profiles (go test -covermode=count), one taken after N requests and one
// after N+1. It is the measurement behind the README's "How a refresh
// walks through" (issue 14): run bench/stops.sh.
//
//	go run ./bench/stops /tmp/stops0 /tmp/stops1
package main

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const module = "github.com/tessera-id/tessera/"

// block is one line of a coverage profile: file:startLine.col,endLine.col stmts count.
type block struct {
	file       string
	start, end int
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: stops BEFORE.cover AFTER.cover")
		os.Exit(2)
	}
	before, err := read(os.Args[1])
	check(err)
	after, err := read(os.Args[2])
	check(err)
	funcs := map[string]bool{}
	for b, n := range after {
		if n > before[b] {
			if f := funcAt(b); f != "" {
				funcs[f] = true
			}
		}
	}
	byPkg := map[string][]string{}
	for f := range funcs {
		pkg, name, _ := strings.Cut(f, " ")
		byPkg[pkg] = append(byPkg[pkg], name)
	}
	pkgs := make([]string, 0, len(byPkg))
	for p := range byPkg {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		sort.Strings(byPkg[p])
		fmt.Printf("%s (%d)\n", p, len(byPkg[p]))
		for _, n := range byPkg[p] {
			fmt.Printf("\t%s\n", n)
		}
	}
	fmt.Printf("%d functions in %d packages\n", len(funcs), len(pkgs))
}

// read parses a count-mode profile into the count of each block.
func read(path string) (map[block]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[block]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "mode:") {
			continue
		}
		// file:10.2,12.3 1 5
		fields := strings.Fields(line)
		if len(fields) != 3 {
			continue
		}
		file, span, ok := strings.Cut(fields[0], ":")
		if !ok {
			continue
		}
		from, to, _ := strings.Cut(span, ",")
		n, _ := strconv.Atoi(fields[2])
		b := block{file: file, start: lineOf(from), end: lineOf(to)}
		out[b] += n
	}
	return out, sc.Err()
}

func lineOf(pos string) int {
	l, _, _ := strings.Cut(pos, ".")
	n, _ := strconv.Atoi(l)
	return n
}

// funcs caches each file's function spans: "pkg Recv.Name" by line range.
var spans = map[string][]span{}

type span struct {
	from, to int
	name     string
}

// funcAt names the function declaring the block, as "dir Recv.Name".
func funcAt(b block) string {
	rel, ok := strings.CutPrefix(b.file, module)
	if !ok {
		return ""
	}
	ss, ok := spans[rel]
	if !ok {
		ss = parse(rel)
		spans[rel] = ss
	}
	for _, s := range ss {
		if b.start >= s.from && b.end <= s.to {
			return filepath.Dir(rel) + " " + s.name
		}
	}
	return ""
}

func parse(rel string) []span {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	var out []span
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil && len(fd.Recv.List) > 0 {
			t := fd.Recv.List[0].Type
			if st, ok := t.(*ast.StarExpr); ok {
				t = st.X
			}
			if ix, ok := t.(*ast.IndexExpr); ok {
				t = ix.X
			}
			if id, ok := t.(*ast.Ident); ok {
				name = id.Name + "." + name
			}
		}
		out = append(out, span{fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line, name})
	}
	return out
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "stops:", err)
		os.Exit(1)
	}
}
