package account

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// idTokenSkew is the clock skew allowed when checking an ID token's exp
// and nbf: the same five minutes MSAL allows.
const idTokenSkew = 5 * time.Minute

// idTokenAlgs are the signature algorithms accepted on an ID token: the
// asymmetric ones Entra and tessera sign with; never none, never HMAC
// (OIDC Core §3.1.3.7 step 6-8).
var idTokenAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384}

// idClaims are the ID token claims the CLI reads (OIDC Core §2, with
// Entra's tid, oid and preferred_username).
type idClaims struct {
	Issuer            string           `json:"iss"`
	Audience          jwt.Audience     `json:"aud"`
	Expiry            *jwt.NumericDate `json:"exp"`
	NotBefore         *jwt.NumericDate `json:"nbf"`
	Nonce             string           `json:"nonce"`
	TenantID          string           `json:"tid"`
	ObjectID          string           `json:"oid"`
	Subject           string           `json:"sub"`
	PreferredUsername string           `json:"preferred_username"`
	UPN               string           `json:"upn"`
	Name              string           `json:"name"`
}

// username is the name az shows for the account, and the CLI selects it
// by (account set, logout --username): preferred_username (v2), else upn
// (v1). Never email: an address is no identifier of the account (a
// provider may send one it did not verify, and the "nOAuth" class of
// attacks lives on relying parties that match accounts by it).
func (c idClaims) username() string {
	for _, v := range []string{c.PreferredUsername, c.UPN} {
		if v != "" {
			return v
		}
	}
	return ""
}

// fetchJWKS reads the authority's signing keys.
func (c *Client) fetchJWKS(ctx context.Context, u string) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, TransportError(u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, TransportError(u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered HTTP %d: the authority's signing keys cannot be read", u, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%s is not a JSON Web Key Set: %v", u, err)
	}
	return &set, nil
}

// verifyIDToken checks an ID token as OIDC Core §3.1.3.7 says: signed by
// one of the authority's keys with an allowed algorithm, issued by the
// discovered issuer (for a multi-tenant authority, by some tenant of it),
// for this client, not expired, and carrying the nonce the request sent
// (none is sent by the device code and password grants). keysURL is where
// the keys are.
func (c *Client) verifyIDToken(ctx context.Context, d Discovery, keysURL, raw, clientID, nonce string) (idClaims, error) {
	bad := func(format string, a ...any) (idClaims, error) {
		return idClaims{}, fmt.Errorf("the ID token the server returned is not valid: "+format, a...)
	}
	tok, err := jwt.ParseSigned(raw, idTokenAlgs)
	if err != nil {
		return bad("%v", err)
	}
	keys, err := c.fetchJWKS(ctx, keysURL)
	if err != nil {
		return idClaims{}, err
	}
	var cl idClaims
	if err := tok.Claims(keys, &cl); err != nil {
		return bad("its signature does not verify with the authority's keys (%v)", err)
	}
	tid, err := d.checkIssuer(cl.Issuer)
	if err != nil {
		return bad("%v", err)
	}
	if cl.TenantID != "" && !strings.EqualFold(cl.TenantID, tid) && tid != "" {
		return bad("tid %s is not the issuer's tenant %s", cl.TenantID, tid)
	}
	if !cl.Audience.Contains(clientID) {
		return bad("it is for %v, not for client %s", []string(cl.Audience), clientID)
	}
	now := c.now()
	switch {
	case cl.Expiry == nil:
		return bad("it has no exp")
	case now.After(cl.Expiry.Time().Add(idTokenSkew)):
		return bad("it expired at %s; check this machine's clock", cl.Expiry.Time().UTC().Format(time.RFC3339))
	case cl.NotBefore != nil && now.Add(idTokenSkew).Before(cl.NotBefore.Time()):
		return bad("it is not valid before %s; check this machine's clock", cl.NotBefore.Time().UTC().Format(time.RFC3339))
	case cl.Nonce != nonce:
		// An ID token for another request, replayed into this one.
		return bad("its nonce does not match the request's")
	}
	if cl.TenantID == "" {
		cl.TenantID = tid
	}
	if cl.ObjectID == "" {
		// v2 ID tokens at Entra always carry oid with the profile scope;
		// sub is the fallback an OIDC provider always sends.
		cl.ObjectID = cl.Subject
	}
	if cl.TenantID == "" || cl.ObjectID == "" {
		return bad("it names no tenant (tid) or user (oid)")
	}
	return cl, nil
}

// clientInfo is Microsoft's client_info response parameter: the user's
// home account, which differs from the ID token's oid and tid for a guest.
type clientInfo struct {
	UID  string `json:"uid"`
	UTID string `json:"utid"`
}

// parseClientInfo decodes client_info: base64url JSON, padded or not.
func parseClientInfo(s string) (clientInfo, error) {
	var ci clientInfo
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return ci, fmt.Errorf("client_info is not base64url: %v", err)
	}
	if err := json.Unmarshal(raw, &ci); err != nil {
		return ci, fmt.Errorf("client_info is not JSON: %v", err)
	}
	if ci.UID == "" || ci.UTID == "" {
		return ci, errors.New("client_info lacks uid or utid")
	}
	return ci, nil
}
