package guard

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// referencePrincipal is how the guard read claims before it scanned the
// payload itself: encoding/json into a map[string]any, then each claim
// type-checked. principalFromPayload must agree with it on every input.
func referencePrincipal(payload string) (*Principal, map[string]any, bool) {
	var c map[string]any
	if err := json.Unmarshal([]byte(payload), &c); err != nil || c == nil {
		return nil, nil, false
	}
	ok := true
	str := func(name string) string {
		switch v := c[name].(type) {
		case nil:
			return ""
		case string:
			return v
		default:
			ok = false
			return ""
		}
	}
	strs := func(name string) []string {
		switch v := c[name].(type) {
		case nil:
			return nil
		case string:
			return []string{v}
		case []any:
			out := make([]string, 0, len(v))
			for _, e := range v {
				s, isStr := e.(string)
				if !isStr {
					ok = false
					return nil
				}
				out = append(out, s)
			}
			return out
		default:
			ok = false
			return nil
		}
	}
	date := func(name string) time.Time {
		switch v := c[name].(type) {
		case nil:
			return time.Time{}
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e12 {
				ok = false
				return time.Time{}
			}
			sec, frac := math.Modf(v)
			return time.Unix(int64(sec), int64(frac*1e9)).UTC()
		default:
			ok = false
			return time.Time{}
		}
	}
	loose := func(name string) string { s, _ := c[name].(string); return s }
	p := &Principal{
		Subject: str("sub"), ObjectID: str("oid"), TenantID: strings.ToLower(str("tid")),
		Issuer: str("iss"), Version: str("ver"), Audience: strs("aud"), Roles: strs("roles"),
		Scopes: strings.Fields(str("scp")), TokenID: str("uti"),
		jti: loose("jti"), uti: loose("uti"), azp: loose("azp"), appid: loose("appid"),
	}
	if p.ClientID = str("azp"); p.ClientID == "" {
		p.ClientID = str("appid")
	}
	if p.TokenID == "" {
		p.TokenID = str("jti")
	}
	p.SessionID = str("sid")
	p.IssuedAt, p.NotBefore, p.ExpiresAt = date("iat"), date("nbf"), date("exp")
	return p, c, ok
}

// samePrincipal compares the decoded fields, taking a nil list for an
// empty one.
func samePrincipal(a, b *Principal) bool {
	return a.Subject == b.Subject && a.ObjectID == b.ObjectID && a.TenantID == b.TenantID &&
		a.ClientID == b.ClientID && a.Issuer == b.Issuer && a.Version == b.Version &&
		slices.Equal(a.Audience, b.Audience) && slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Scopes, b.Scopes) &&
		a.IssuedAt.Equal(b.IssuedAt) && a.NotBefore.Equal(b.NotBefore) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.TokenID == b.TokenID && a.SessionID == b.SessionID &&
		a.jti == b.jti && a.uti == b.uti && a.azp == b.azp && a.appid == b.appid
}

var claimSeeds = []string{
	`{}`, `[]`, `null`, `"x"`, `1`, ``, ` {} `, `{}x`, `{} {}`, `{"a":1,}`, `{,}`, `{"a" 1}`,
	`{"sub":"s","oid":"o","tid":"TID","iss":"i","ver":"2.0","aud":["a","b"],"roles":["R"],"scp":" a  b\tc ",` +
		`"uti":"u","jti":"j","azp":"z","appid":"p","sid":"d","iat":1.5,"nbf":0,"exp":1e9}`,
	`{"exp":"1"}`, `{"exp":1e400}`, `{"other":1e400}`, `{"exp":-1}`, `{"exp":1e13}`, `{"exp":null}`,
	`{"exp":1,"exp":"x"}`, `{"exp":"x","exp":2}`, `{"aud":[1]}`, `{"aud":["a",null]}`, `{"aud":[]}`, `{"aud":{}}`,
	`{"roles":"Reader"}`, `{"scp":["a"]}`, `{"scp":"a\u00a0b\u0085c"}`, `{"scp":"a\u2003b"}`,
	`{"uti":"u","jti":5}`, `{"jti":5}`, `{"azp":"a","appid":false}`, `{"azp":"","appid":false}`,
	`{"s\u0075b":"escaped name"}`, `{"sub":"\u00e9\ud83d\ude00\ud800x\n\"\\\/"}`, "{\"sub\":\"\xff\xfe\"}",
	"{\"sub\":\"a\x01\"}", `{"sub":"\x"}`, `{"sub":"\u12"}`, `{"n":-0.0e-0,"m":[true,false,null,{"a":[{}]}]}`,
	`{"n":01}`, `{"n":1.}`, `{"n":.1}`, `{"n":-}`, `{"n":1e}`, `{"n":+1}`, `{"t":tru}`, `{"t":nul}`,
	"{\"a\":1}\n\t\r ", "\ufeff{}", `{"sub":"a","sub":"b"}`, `{"SUB":"upper"}`,
}

func FuzzPayloadClaims(f *testing.F) {
	for _, s := range claimSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkPayload(t, string(payload))
	})
}

func TestPayloadClaimsAgreeWithEncodingJSON(t *testing.T) {
	for _, s := range claimSeeds {
		checkPayload(t, s)
	}
	deep := strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1)
	checkPayload(t, `{"a":`+deep+`}`)
	checkPayload(t, `{"a":[`+deep+`]}`)
}

func checkPayload(t *testing.T, payload string) {
	t.Helper()
	want, wantClaims, wantOK := referencePrincipal(payload)
	got, err := principalFromPayload(payload)
	if (err == nil) != wantOK {
		t.Fatalf("%q: accepted %v, encoding/json %v (%v)", payload, err == nil, wantOK, err)
	}
	if _, err := scanPayload(payload); (err == nil) != (wantClaims != nil) {
		t.Fatalf("%q: scan accepted %v, encoding/json %v", payload, err == nil, wantClaims != nil)
	}
	if !wantOK {
		return
	}
	if !samePrincipal(got, want) {
		t.Fatalf("%q:\n got %+v\nwant %+v", payload, got, want)
	}
	if c := got.Claims(); !reflect.DeepEqual(c, wantClaims) {
		t.Fatalf("%q: Claims() = %v, want %v", payload, c, wantClaims)
	}
	for name, v := range wantClaims {
		if c, ok := got.Claim(name); !ok || !reflect.DeepEqual(c, v) {
			t.Fatalf("%q: Claim(%q) = %v, %v; want %v", payload, name, c, ok, v)
		}
	}
	if c, ok := got.Claim("\x00absent"); ok || c != nil {
		t.Fatalf("%q: Claim of an absent name = %v, %v", payload, c, ok)
	}
}

// A Principal the guard did not make has no claims.
func TestClaimsOfLiteralPrincipal(t *testing.T) {
	p := &Principal{Subject: "s"}
	if c := p.Claims(); c == nil || len(c) != 0 {
		t.Fatalf("Claims() = %#v, want an empty map", c)
	}
	if v, ok := p.Claim("sub"); ok || v != nil {
		t.Fatalf("Claim(sub) = %v, %v", v, ok)
	}
}

// Claims and the lists of a copy share nothing with the original.
func TestCloneSharesNothing(t *testing.T) {
	p, err := principalFromPayload(`{"aud":["a","b"],"roles":["R"],"scp":"x y","tags":["t"]}`)
	if err != nil {
		t.Fatal(err)
	}
	c := p.clone()
	c.Audience[0], c.Roles[0], c.Scopes[0] = "changed", "changed", "changed"
	c.Roles = append(c.Roles, "Admin")
	c.Claims()["tags"].([]any)[0] = "changed"
	if p.Audience[0] != "a" || p.Roles[0] != "R" || len(p.Roles) != 1 || p.Scopes[0] != "x" || c.Scopes[0] != "changed" {
		t.Fatalf("original changed through its copy: %+v", p)
	}
	if tags, _ := p.Claim("tags"); tags.([]any)[0] != "t" {
		t.Fatalf("tags = %v", tags)
	}
	// An append to one list never writes into the next.
	q, _ := principalFromPayload(`{"aud":"a","roles":["R"],"scp":"x"}`)
	_ = append(q.Audience, "b")
	if q.Roles[0] != "R" {
		t.Fatalf("append to Audience overwrote Roles: %v", q.Roles)
	}
}

// BenchmarkPrincipalFromPayload compares reading a tessera access token's
// claims by scanning (the guard's way) with decoding them into a map
// first (its former way, kept above as the reference).
func BenchmarkPrincipalFromPayload(b *testing.B) {
	payload := `{"aud":"a3c1a0f2-6f52-4b1e-9d7a-1f0c2b3d4e5f","iss":"https://127.0.0.1:8443/0b5c8e6a-1f2d-4c3b-9a8e-7d6c5b4a3f21/v2.0",` +
		`"tid":"0b5c8e6a-1f2d-4c3b-9a8e-7d6c5b4a3f21","iat":1772366400,"nbf":1772366400,"exp":1772370000,` +
		`"azp":"6731de76-14a6-49ae-97bc-6eba6914391e","azpacr":"1","oid":"0e9c3cbc-0c14-4c66-8c6d-8f2f1a1c2b3d",` +
		`"sub":"AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ","scp":"user_impersonation Studies.Read","name":"Ada Lovelace",` +
		`"preferred_username":"ada@contoso.example","ver":"2.0","uti":"5b1c2c5e7e104a8e9f0e0a","jti":"9f3d6c1e-2b4a-4c8d-a1e7-5d0b3f9c7a21",` +
		`"sid":"9f3d6c1e-2b4a-4c8d-a1e7-5d0b3f9c7a21"}`
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := principalFromPayload(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, ok := referencePrincipal(payload); !ok {
				b.Fatal("refused")
			}
		}
	})
}
