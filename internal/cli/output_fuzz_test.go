package cli

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/jmespath/go-jmespath"
)

// FuzzQuery fuzzes --query (JMESPath) and the output formats over
// arbitrary JSON documents, as `tessera … --query Q -o F` runs them.
// Properties: no panic whatever the expression (a broken one is a usage
// error, exit code 2); -o json prints valid JSON equal to the query's
// result; tsv prints one line per item of a list result; none prints
// nothing. Seeds: testdata/fuzz/FuzzQuery.
func FuzzQuery(f *testing.F) {
	doc := `{"accessToken":"eyJ0eXAi","expiresOn":"2026-12-05 07:00:00.000000","expires_on":1796454000,"tenant":"t","tokenType":"Bearer","subscription":"s"}`
	list := `[{"appId":"a1","displayName":"Studies API","tags":["x"]},{"appId":"a2","displayName":"Tab\there","n":1.5}]`
	for _, s := range []struct {
		query, doc string
		format     uint8
	}{
		{"accessToken", doc, 0},
		{"[].{id:appId,name:displayName}", list, 1},
		{"[?displayName=='Studies API'].appId | [0]", list, 2},
		{"length(@)", list, 0},
		{"sort_by(@, &n)", list, 0},
		{"[].[appId, tags]", list, 1},
		{"expires_on > `0`", doc, 1},
		{"foo[", doc, 0},
		{"", `null`, 3},
	} {
		f.Add(s.query, s.doc, s.format)
	}
	formats := []string{"json", "tsv", "table", "none"}
	f.Fuzz(func(t *testing.T, query, raw string, format uint8) {
		var v any
		if json.Unmarshal([]byte(raw), &v) != nil {
			return
		}
		o := output{format: formats[int(format)%len(formats)], query: query}
		var buf bytes.Buffer
		err := o.print(&buf, v)
		if err != nil {
			if ExitCode(err) != ExitUsage {
				t.Fatalf("query %q: exit code %d: %v", query, ExitCode(err), err)
			}
			return
		}
		want := v
		if query != "" {
			want, _ = jmespath.Search(query, v)
		}
		switch o.format {
		case "json":
			var got any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("query %q: -o json printed invalid JSON: %v\n%s", query, err, buf.String())
			}
			// Compare through JSON: the query's result may hold numbers
			// or maps of other Go types than decoding makes.
			w, _ := json.Marshal(want)
			var wantJSON any
			json.Unmarshal(w, &wantJSON)
			if !reflect.DeepEqual(got, wantJSON) {
				t.Fatalf("query %q: printed %s, want %s", query, buf.String(), w)
			}
		case "tsv":
			if rows, ok := want.([]any); ok && !strings.ContainsAny(raw, "\n\r") {
				if n := strings.Count(buf.String(), "\n"); n != len(rows) {
					t.Fatalf("query %q: -o tsv printed %d lines for %d items", query, n, len(rows))
				}
			}
		case "none":
			if buf.Len() != 0 {
				t.Fatalf("-o none printed %q", buf.String())
			}
		}
	})
}
