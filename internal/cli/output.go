package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/jmespath/go-jmespath"
	"github.com/spf13/cobra"
)

// output is the -o/--output and --query pair every command that prints a
// result takes, with az's meanings: JSON by default, tsv for scripts
// (values only, tab-separated, one line per list item), table for people;
// --query is a JMESPath expression applied first.
type output struct {
	format string
	query  string
}

// outputFormats are the values -o accepts.
const outputFormats = "json, jsonc, tsv, table, none"

// addFlags adds -o and --query to cmd and checks them before cmd runs: a
// typo in either must not cost a sign-in, a token request or a write
// before it is reported (issue 15).
func (o *output) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.format, "output", "o", "json", "output format: "+outputFormats)
	cmd.Flags().StringVar(&o.query, "query", "", "JMESPath query string, e.g. accessToken (see https://jmespath.org)")
	pre := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if err := o.validate(); err != nil {
			return err
		}
		if pre != nil {
			return pre(c, args)
		}
		return nil
	}
}

// validate reports a format print does not know or a query that does not
// compile, as usage errors (exit 2).
func (o *output) validate() error {
	switch o.format {
	case "json", "jsonc", "tsv", "table", "none", "":
	default:
		return withExit(ExitUsage, fmt.Errorf("--output %q is not one of %s", o.format, outputFormats))
	}
	if o.query != "" {
		if _, err := jmespath.Compile(o.query); err != nil {
			return withExit(ExitUsage, fmt.Errorf("--query %q is not a valid JMESPath expression: %v", o.query, err))
		}
	}
	return nil
}

// print writes v (any value encoding/json can marshal) to w.
func (o *output) print(w io.Writer, v any) error {
	// Round-trip through JSON so that the query and the formats see the
	// same field names as the JSON output, and numbers stay numbers.
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// Numbers decode as float64, the only number type go-jmespath
	// compares and sorts; every integer up to 2^53 (epoch seconds among
	// them) stays exact.
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	if o.query != "" {
		q, err := jmespath.Compile(o.query)
		if err != nil {
			return withExit(ExitUsage, fmt.Errorf("--query %q is not a valid JMESPath expression: %v", o.query, err))
		}
		doc, err = q.Search(doc)
		if err != nil {
			return withExit(ExitUsage, fmt.Errorf("--query %q: %v", o.query, err))
		}
	}
	switch o.format {
	case "json", "jsonc", "":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(doc)
	case "tsv":
		return writeTSV(w, doc)
	case "table":
		return writeTable(w, doc)
	case "none":
		return nil
	default:
		return withExit(ExitUsage, fmt.Errorf("--output %q is not one of %s", o.format, outputFormats))
	}
}

// scalar renders a JSON scalar the way az's tsv does: strings bare, null
// empty, booleans and numbers as written.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "True"
		}
		return "False"
	default:
		raw, _ := json.Marshal(x)
		return string(raw)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tsvCell renders a value inside a row as knack (az's output library)
// does: an object as empty and a list as its length, so that every row has
// one column per key whatever the values.
func tsvCell(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return ""
	case []any:
		return strconv.Itoa(len(x))
	default:
		return scalar(v)
	}
}

// tsvLine renders one row: an object as its values in key order, a list
// (what `--query "[].[name,id]"` makes) as its items, a scalar as itself.
func tsvLine(v any) string {
	var cols []string
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			cols = append(cols, tsvCell(x[k]))
		}
	case []any:
		for _, item := range x {
			cols = append(cols, tsvCell(item))
		}
	default:
		return scalar(v)
	}
	return strings.Join(cols, "\t")
}

func writeTSV(w io.Writer, doc any) error {
	if doc == nil {
		return nil
	}
	rows, ok := doc.([]any)
	if !ok {
		rows = []any{doc}
	}
	for _, r := range rows {
		if _, err := fmt.Fprintln(w, tsvLine(r)); err != nil {
			return err
		}
	}
	return nil
}

// flattenOnce returns m with each nested object's scalar members lifted
// to "key.member" (objects deeper than that, and arrays, stay as they are:
// the table skips them).
func flattenOnce(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		sub, ok := v.(map[string]any)
		if !ok {
			out[k] = v
			continue
		}
		for sk, sv := range sub {
			switch sv.(type) {
			case map[string]any, []any:
			default:
				out[k+"."+sk] = sv
			}
		}
	}
	return out
}

func writeTable(w io.Writer, doc any) error {
	rows, ok := doc.([]any)
	if !ok {
		rows = []any{doc}
	}
	// A nested object's scalars become columns of their own ("user.name"):
	// two accounts of one tenant, a person's and a service principal's,
	// differ only there, and a table that dropped them would show two
	// identical rows.
	flat := make([]any, len(rows))
	for i, r := range rows {
		flat[i] = r
		if m, ok := r.(map[string]any); ok {
			flat[i] = flattenOnce(m)
		}
	}
	rows = flat
	var cols []string
	seen := map[string]bool{}
	for _, r := range rows {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		for _, k := range sortedKeys(m) {
			switch m[k].(type) {
			case map[string]any, []any:
				continue
			}
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(cols) == 0 {
		// A list of scalars: one column, headed "Result" as in az.
		fmt.Fprintln(tw, "Result")
		fmt.Fprintln(tw, "------")
		for _, r := range rows {
			fmt.Fprintln(tw, scalar(r))
		}
		return tw.Flush()
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	dashes := make([]string, len(cols))
	for i, c := range cols {
		dashes[i] = strings.Repeat("-", len(c))
	}
	fmt.Fprintln(tw, strings.Join(dashes, "\t"))
	for _, r := range rows {
		m, _ := r.(map[string]any)
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = scalar(m[c])
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	return tw.Flush()
}
