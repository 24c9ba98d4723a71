package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tokenDoc is get-access-token's shape, the value scripts query most.
var tokenDoc = azAccessToken{
	AccessToken:  "eyJ0eXAi.x.y",
	ExpiresOn:    "2026-11-25 10:04:05.000000",
	ExpiresOnSec: 1764064800,
	Subscription: "t-1",
	Tenant:       "t-1",
	TokenType:    "Bearer",
}

var listDoc = []map[string]any{
	{"name": "a", "id": "1", "n": 5, "on": true, "tags": []string{"x"}, "user": map[string]any{"k": 1}},
	{"name": "b", "id": "2", "n": 7, "on": false, "tags": []string{}, "user": map[string]any{"k": 2}},
}

func printed(t *testing.T, format, query string, v any) (string, error) {
	t.Helper()
	o := output{format: format, query: query}
	var b bytes.Buffer
	err := o.print(&b, v)
	return b.String(), err
}

func TestOutputFormats(t *testing.T) {
	for _, tc := range []struct {
		name, format, query string
		v                   any
		want                string
	}{
		{"json is the default, indented, numbers exact, HTML unescaped", "", "",
			map[string]any{"a": "<b&c>", "n": 1764064800},
			"{\n  \"a\": \"<b&c>\",\n  \"n\": 1764064800\n}\n"},
		{"jsonc is json without colour", "jsonc", "", []int{1}, "[\n  1\n]\n"},
		{"none prints nothing", "none", "", tokenDoc, ""},
		{"query a field as tsv: the value alone on a line", "tsv", "accessToken", tokenDoc, "eyJ0eXAi.x.y\n"},
		{"query an integer as tsv", "tsv", "expires_on", tokenDoc, "1764064800\n"},
		{"query a field as json: a JSON string", "json", "tokenType", tokenDoc, "\"Bearer\"\n"},
		{"tsv of an object: values in key order", "tsv", "", map[string]any{"b": 2, "a": "x", "c": true}, "x\t2\tTrue\n"},
		{"tsv of a list of objects: a line each", "tsv", "[].{id: id, n: n, name: name, on: on}", listDoc, "1\t5\ta\tTrue\n2\t7\tb\tFalse\n"},
		{"tsv of a projection of scalars: a line each", "tsv", "[].name", listDoc, "a\nb\n"},
		{"tsv of null prints nothing", "tsv", "nothing", tokenDoc, ""},
		{"query with a function", "tsv", "length(@)", listDoc, "2\n"},
		{"table of objects: scalar columns with dashes", "table", "[].{name: name, id: id}", listDoc,
			"id  name\n--  ----\n1   a\n2   b\n"},
		{"table of scalars: one Result column", "table", "[].name", listDoc, "Result\n------\na\nb\n"},
		{"table of accounts: a nested object's scalars are columns, so two accounts of one tenant differ", "table", "",
			[]map[string]any{
				{"tenantId": "t1", "user": map[string]any{"name": "alice@contoso", "type": "user"}, "managedByTenants": []any{}},
				{"tenantId": "t1", "user": map[string]any{"name": "0b1c…", "type": "servicePrincipal"}},
			},
			"tenantId  user.name      user.type\n--------  ---------      ---------\nt1        alice@contoso  user\nt1        0b1c…          servicePrincipal\n"},
	} {
		got, err := printed(t, tc.format, tc.query, tc.v)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestOutputErrorsExit2(t *testing.T) {
	for _, tc := range []struct{ format, query string }{
		{"json", "[?"},          // does not parse
		{"json", "sum(@)"},      // parses, fails on the value
		{"yaml", ""},            // not a format
		{"tsv", "accessToken)"}, // trailing junk
	} {
		_, err := printed(t, tc.format, tc.query, tokenDoc)
		if ExitCode(err) != ExitUsage {
			t.Errorf("-o %s --query %q: %v (exit %d), want exit %d", tc.format, tc.query, err, ExitCode(err), ExitUsage)
		}
	}
}

// The cases below are az behaviours scripts depend on.

// az prints a list of lists as tab-separated rows:
// `--query "[].[name, id]" -o tsv` is az's most common scripting idiom.
func TestOutputTSVListOfLists(t *testing.T) {
	got, err := printed(t, "tsv", "[].[name, id]", listDoc)
	if err != nil || got != "a\t1\nb\t2\n" {
		t.Errorf("got %q, %v", got, err)
	}
}

// go-jmespath compares and sorts float64 only: numbers must reach it as
// float64, or comparisons match nothing and numeric functions fail.
func TestOutputNumericQueries(t *testing.T) {
	for q, want := range map[string]string{
		"[?n > `5`].name":       "b\n",
		"[?n == `5`].name":      "a\n",
		"max_by(@, &n).name":    "b\n",
		"sort_by(@, &n)[].name": "a\nb\n",
		"sum([].n)":             "12\n",
	} {
		if got, err := printed(t, "tsv", q, listDoc); err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", q, got, err, want)
		}
	}
}

// az keeps one tsv column per key (an object prints as empty, a list as
// its length) so columns line up across rows even when a key is an
// object in one row and null in the next.
func TestOutputTSVColumnsStable(t *testing.T) {
	v := []map[string]any{{"a": "1", "b": map[string]any{"k": 1}, "c": "3"}, {"a": "1", "b": nil, "c": "3"}}
	got, _ := printed(t, "tsv", "", v)
	if got != "1\t\t3\n1\t\t3\n" {
		t.Errorf("got %q", got)
	}
}

// A bad -o or --query is reported before the command does anything: no
// request to the server (issue 15: get-access-token -o yaml first asked
// for a token and showed the server's refusal), no profile written.
func TestBadOutputFlagsFailBeforeAnyRequest(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.login(t)
	profile := func() string {
		var all string
		for _, name := range []string{"profiles.json", "tokens.json"} {
			b, _ := os.ReadFile(filepath.Join(c.dir, name))
			all += string(b)
		}
		return all
	}
	before := profile()
	for _, bad := range [][]string{{"-o", "yaml"}, {"--query", "[?"}} {
		for _, args := range [][]string{
			{"account", "get-access-token", "--scope", "api://X/.default"},
			{"account", "show"},
			{"rest", "--url", f.srv.URL + "/api/echo"},
			{"login", "--service-principal", "-u", lfClientID, "-p", lfSecret, "--tenant", "default", "--authority", f.srv.URL, "--ca-file", f.ca},
			{"admin", "app", "list", "--server", f.srv.URL, "--token", "t", "--ca-file", f.ca},
		} {
			f.requests.Store(0)
			args = append(args, bad...)
			_, _, err := c.run(args...)
			name := strings.Join(args, " ")
			if ExitCode(err) != ExitUsage {
				t.Errorf("%s: %v (exit %d), want exit %d", name, err, ExitCode(err), ExitUsage)
				continue
			}
			if bad[0] == "-o" && !strings.Contains(err.Error(), "json, jsonc, tsv, table, none") {
				t.Errorf("%s: %q does not list the formats", name, err)
			}
			if bad[0] == "--query" && !strings.Contains(err.Error(), "not a valid JMESPath expression") {
				t.Errorf("%s: %q does not name the bad query", name, err)
			}
			if n := f.requests.Load(); n != 0 {
				t.Errorf("%s: %d requests before the usage error, want none", name, n)
			}
		}
	}
	if profile() != before {
		t.Error("a refused command changed the profile")
	}
}
