package token

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// plainClaims has AccessClaims' fields and tags but none of its methods:
// what encoding/json writes for it is the reference appendJSON must match.
type plainClaims AccessClaims

func checkClaimsJSON(t *testing.T, c AccessClaims) {
	t.Helper()
	want, err := json.Marshal(plainClaims(c))
	if err != nil {
		t.Fatal(err)
	}
	got := c.appendJSON(nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("appendJSON differs from encoding/json\n got %s\nwant %s", got, want)
	}
	var back plainClaims
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("not JSON: %v: %s", err, got)
	}
}

// Every field set, each to a value that names it: a field added to
// AccessClaims and not to appendJSON makes the outputs differ here.
func TestAccessClaimsJSONCoversEveryField(t *testing.T) {
	var c AccessClaims
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString("value of " + name)
		case reflect.Int64:
			f.SetInt(int64(1_700_000_000 + i))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{name + " 1", name + " 2"}))
		default:
			t.Fatalf("field %s has kind %s: teach appendJSON and this test about it", name, f.Kind())
		}
	}
	checkClaimsJSON(t, c)
	checkClaimsJSON(t, AccessClaims{}) // every omitempty member left out
	checkClaimsJSON(t, AccessClaims{Roles: []string{}, IssuedAt: -1, Expiry: -1 << 63})
}

func TestAccessClaimsJSONEscapes(t *testing.T) {
	for _, s := range []string{
		`"quoted" \back\slash/`, "\x00\x01\x1f\x7f", "\b\f\n\r\t", "<script>&amp;</script>",
		"\u2028\u2029", "é€𝄞", "\xff\xfe", "a\xc3", "\xed\xa0\x80", strings.Repeat("x", 1000),
	} {
		checkClaimsJSON(t, AccessClaims{Audience: s, Roles: []string{s, s}, Scope: s, IDP: s})
	}
}

// FuzzAccessClaimsJSON: for any strings and numbers, appendJSON writes
// what encoding/json writes. Claims carry values chosen by administrators
// (role values, identifier URIs) and by clients (v1 audiences), so every
// byte must be escaped as the reference does.
func FuzzAccessClaimsJSON(f *testing.F) {
	f.Add("api://x", "https://id/t/v2.0", "c", "", "", "oid", "Reader", "Writer", "", "2.0", int64(1700000000), int64(3600))
	f.Add("<aud>", "&", "\u2028", "\x00", "\xff", `"`, `\`, "\t", "a b", "1.0", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, aud, iss, azp, appid, idp, oid, role1, role2, scp, ver string, iat, life int64) {
		c := AccessClaims{
			Audience: aud, Issuer: iss, IssuedAt: iat, NotBefore: iat, Expiry: iat + life,
			AuthorizedParty: azp, AuthorizedPartyACR: azp, AppID: appid, AppIDACR: appid, IDP: idp,
			IDType: idp, ObjectID: oid, Scope: scp, Subject: oid, TenantID: iss, UTI: role1, JTI: role2, Version: ver,
		}
		if role1 != "" {
			c.Roles = []string{role1, role2}
		}
		checkClaimsJSON(t, c)
	})
}
