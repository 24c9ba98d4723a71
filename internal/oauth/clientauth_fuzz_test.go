package oauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/internal/directory"
)

// FuzzClientAssertion fuzzes private_key_jwt client authentication (RFC
// 7523 §3) through the token endpoint. In mode 0 the assertion is the
// fuzzer's string: nothing unsigned by the client's key may authenticate.
// In mode 1 the fuzzer's payload is signed with the client's registered
// key and header: whatever authenticates must satisfy every rule (iss and
// sub the client, aud this endpoint, unexpired, at most an hour ahead, a
// jti never accepted before). $CLIENT, $AUD, $NOW and $EXP in the input
// stand for the client id, the token endpoint, the fixture clock's now and
// now+5 min, so that the committed seeds stay valid.
// Seeds: testdata/fuzz/FuzzClientAssertion.
func FuzzClientAssertion(f *testing.F) {
	fx := newFixture(f)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	check(f, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "conf"},
		NotBefore: fx.clock.Now().Add(-time.Hour), NotAfter: fx.clock.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	check(f, err)
	must(fx.dir.AddCertificate(fx.ctx, fx.tenant.ID, fx.conf.AppID, directory.CertificateSpec{Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}))

	const path = "/contoso/oauth2/v2.0/token"
	aud := fx.srv.URL + path
	good := `{"iss":"$CLIENT","sub":"$CLIENT","aud":"$AUD","exp":$EXP,"nbf":$NOW,"jti":"j1"}`
	for _, s := range []struct {
		mode            uint8
		header, payload string
	}{
		{1, `{}`, good},
		{1, `{"typ":"JWT"}`, `{"iss":"$CLIENT","sub":"$CLIENT","aud":["$AUD","x"],"exp":$EXP,"jti":"j2"}`},
		{1, `{}`, `{"iss":"$CLIENT","sub":"$CLIENT","aud":"https://evil.example/token","exp":$EXP,"jti":"j3"}`},
		{1, `{}`, `{"iss":"$CLIENT","sub":"$CLIENT","aud":"$AUD","exp":99999999999,"jti":"j4"}`},
		{1, `{"crit":["exp"]}`, `{"iss":"$CLIENT","sub":"other","aud":"$AUD","exp":$EXP,"jti":"j5"}`},
		{1, `{"x5t":"AAAA"}`, good},
		{0, ``, `eyJhbGciOiJub25lIn0.eyJpc3MiOiIkQ0xJRU5UIn0.`},
		{0, ``, `eyJhbGciOiJIUzI1NiJ9.e30.c2ln`},
	} {
		f.Add(s.mode, s.header, s.payload)
	}
	handler := fx.srv.Config.Handler
	accepted := map[string]bool{}
	f.Fuzz(func(t *testing.T, mode uint8, header, payload string) {
		now := fx.clock.Now()
		payload = strings.NewReplacer("$CLIENT", fx.conf.AppID, "$AUD", aud,
			"$NOW", strconv.FormatInt(now.Unix(), 10), "$EXP", strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10)).Replace(payload)
		assertion := payload
		signed := mode%2 == 1
		if signed {
			var extra map[string]any
			if json.Unmarshal([]byte(header), &extra) != nil {
				extra = nil
			}
			opts := &jose.SignerOptions{}
			for k, v := range extra {
				if k != "alg" && k != "b64" {
					opts.WithHeader(jose.HeaderKey(k), v)
				}
			}
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
			if err != nil {
				t.Skip()
			}
			jws, err := s.Sign([]byte(payload))
			if err != nil {
				t.Skip()
			}
			if assertion, err = jws.CompactSerialize(); err != nil {
				t.Skip()
			}
		}
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"api://studies/.default"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
		req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			return
		}
		if !signed {
			t.Fatalf("an assertion not signed by the client's key authenticated: %q", assertion)
		}
		var c struct {
			Iss, Sub, Jti string
			Aud           any
			Exp           *float64
			Nbf           *float64
		}
		if err := json.Unmarshal([]byte(payload), &c); err != nil {
			t.Fatalf("authenticated with a payload that is not a JSON object: %q", payload)
		}
		auds, _ := c.Aud.([]any)
		if s, ok := c.Aud.(string); ok {
			auds = []any{s}
		}
		audOK := slices.ContainsFunc(auds, func(a any) bool {
			s, _ := a.(string)
			s = strings.TrimSuffix(s, "/")
			return s == aud || s == fx.srv.URL+"/"+fx.tenant.ID+"/oauth2/v2.0/token" || s == fx.srv.URL+"/contoso/oauth2/token" ||
				s == fx.srv.URL+"/"+fx.tenant.ID+"/oauth2/token" || s == fx.srv.URL+"/"+fx.tenant.ID+"/v2.0" || s == fx.srv.URL+"/"+fx.tenant.ID
		})
		switch {
		case !strings.EqualFold(c.Iss, fx.conf.AppID) || !strings.EqualFold(c.Sub, fx.conf.AppID):
			t.Fatalf("authenticated with iss %q sub %q", c.Iss, c.Sub)
		case !audOK:
			t.Fatalf("authenticated with aud %v", c.Aud)
		case c.Exp == nil || *c.Exp < float64(now.Add(-2*time.Minute).Unix()) || *c.Exp > float64(now.Add(time.Hour+time.Minute).Unix()):
			t.Fatalf("authenticated with exp %v at %d", c.Exp, now.Unix())
		case c.Nbf != nil && *c.Nbf > float64(now.Add(2*time.Minute).Unix()):
			t.Fatalf("authenticated with nbf %v at %d", *c.Nbf, now.Unix())
		case c.Jti == "" || accepted[c.Jti]:
			t.Fatalf("authenticated with jti %q (used before: %v)", c.Jti, accepted[c.Jti])
		}
		accepted[c.Jti] = true
	})
}
