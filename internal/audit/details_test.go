package audit_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/tessera-id/tessera/internal/audit"
)

// EncodeDetails writes what encoding/json writes for the map, byte for
// byte, plain or not: stored rows do not change with the fast path.
func TestEncodeDetailsIsEncodingJSON(t *testing.T) {
	cases := []map[string]string{
		{"grant_type": "client_credentials", "resource": "9b2e6f1a-7c3d-4a5b-8e9f-0a1b2c3d4e5f"},
		{"grant_type": "refresh_token", "grant_id": "g1", "replay": "true"},
		{"a": ""}, {"": "x"}, {"z": "1", "a": "2", "m": "3", "b": "4", "y": "5", "c": "6", "x": "7", "d": "8", "w": "9"},
		{"html": "<b>&</b>"}, {"quote": `say "hi"`}, {"slash": `a\b`}, {"ctl": "a\tb\n\x00"}, {"utf8": "Grüße"},
		{"bad": "\xff\xfe"}, {"sep": "\u2028\u2029"}, {"del": "\x7f"},
	}
	alphabet := []string{"a", "Z", "0", "_", "-", ".", "/", ":", " ", "~", `"`, `\`, "<", ">", "&", "\t", "é", "\u2028", "\xff", "\x7f"}
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		s := ""
		for range rng.IntN(6) {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		return s
	}
	for range 2000 {
		d := map[string]string{}
		for range 1 + rng.IntN(10) {
			d[str()] = str()
		}
		cases = append(cases, d)
	}
	for _, d := range cases {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := audit.EncodeDetails(d)
		if err != nil || got != string(want) {
			t.Fatalf("EncodeDetails(%q) = %q, %v; encoding/json: %q", d, got, err, want)
		}
		back, err := audit.DecodeDetails(got)
		if err != nil || len(back) != len(d) {
			t.Fatalf("DecodeDetails(%q) = %q, %v", got, back, err)
		}
	}
	if got, err := audit.EncodeDetails(nil); got != "" || err != nil {
		t.Fatalf("no details: %q, %v", got, err)
	}
}
