package oauth

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/token"
)

// Client assertions are short-lived by design; one valid for longer than
// this is refused, which also bounds how long its jti must be remembered.
const maxAssertionLifetime = time.Hour

// Algorithms accepted on client assertions (RFC 7523 §3, RFC 8725 §3.1):
// asymmetric only; a certificate credential never verifies an HMAC.
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.RS384, jose.RS512, jose.ES384}

// assertionAlgNames is discovery's
// token_endpoint_auth_signing_alg_values_supported (RFC 8414 §2): what
// the verifier accepts, read from its own list.
func assertionAlgNames() []string {
	out := make([]string, len(assertionAlgs))
	for i, a := range assertionAlgs {
		out[i] = string(a)
	}
	return out
}

// authenticateClient runs client authentication by whichever single
// method the request used (RFC 6749 §2.3). A request with no credential
// at all is a public client's, identified by client_id alone (RFC 6749
// §2.1, §3.2.1), when allowPublic and the application is registered as
// public; a confidential client must always authenticate.
func (h *Handler) authenticateClient(ctx context.Context, req *tokenRequest, allowPublic bool) (directory.Client, string, *Error) {
	var c directory.Client
	var err error
	method := token.AuthSecret
	switch {
	case req.ClientAssertion != "" || req.ClientAssertionType != "":
		var oerr *Error
		if c, oerr = h.authenticateAssertion(ctx, req); oerr != nil {
			return c, "", oerr
		}
		method = token.AuthCertificate
	case req.ClientID == "":
		return c, "", errMissingParameter("client_id")
	case req.ClientSecret != "":
		c, err = h.dir.AuthenticateSecret(ctx, req.TenantID, req.ClientID, req.ClientSecret)
	case !allowPublic:
		return c, "", errCredentialRequired()
	default:
		// A public client, by its client id alone: an unknown client
		// reads as a wrong credential does; a confidential client that
		// sent no credential is told it must (ErrCredentialRequired).
		if c, err = h.dir.PublicClient(ctx, req.TenantID, req.ClientID); err != nil {
			return c, "", clientError(err)
		}
		return c, token.AuthPublic, nil
	}
	if err != nil {
		return c, "", clientError(err)
	}
	// Counted once authenticated: the client's budget cannot be spent by
	// someone who only knows its id.
	if oerr := h.limitClient(req.TenantID, c.App.AppID); oerr != nil {
		return c, "", oerr
	}
	return c, method, nil
}

func errCredentialRequired() *Error {
	return &Error{Code: "invalid_client", Status: 401, AADSTS: 7000218,
		Description: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
}

// clientError maps the directory's refusals of a client.
func clientError(err error) *Error {
	switch {
	case errors.Is(err, directory.ErrInvalidClient):
		return errInvalidClient(err)
	case errors.Is(err, directory.ErrClientDisabled):
		return errClientDisabled(err)
	case errors.Is(err, directory.ErrCredentialRequired):
		return errCredentialRequired()
	default:
		return errServer(err)
	}
}

// assertionClaims are the claims RFC 7523 §3 requires of a client assertion.
type assertionClaims struct {
	Issuer    string          `json:"iss"`
	Subject   string          `json:"sub"`
	Audience  json.RawMessage `json:"aud"`
	Expiry    *int64          `json:"exp"`
	NotBefore *int64          `json:"nbf"`
	IssuedAt  *int64          `json:"iat"`
	ID        string          `json:"jti"`
}

func (c assertionClaims) audiences() []string {
	var one string
	if json.Unmarshal(c.Audience, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(c.Audience, &many)
	return many
}

// authenticateAssertion validates a private_key_jwt client assertion
// (RFC 7523 §3, RFC 7521 §4.2) against the client's certificates.
func (h *Handler) authenticateAssertion(ctx context.Context, req *tokenRequest) (directory.Client, *Error) {
	fail := func(format string, a ...any) (directory.Client, *Error) {
		return directory.Client{}, errInvalidClient(fmt.Errorf("client assertion: "+format, a...))
	}
	if req.ClientAssertionType != assertionTypeJWTBearer {
		return directory.Client{}, errInvalidRequest("client_assertion_type must be " + assertionTypeJWTBearer + ".")
	}
	if req.ClientAssertion == "" {
		return directory.Client{}, errMissingParameter("client_assertion")
	}
	jws, err := jose.ParseSignedCompact(req.ClientAssertion, assertionAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return fail("not a compact JWS with an allowed algorithm")
	}
	// Read the claims before the signature only to learn which client's
	// keys to try; nothing is trusted until a key verifies it.
	var unverified assertionClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified); err != nil {
		return fail("payload is not JSON")
	}
	clientID := strings.ToLower(unverified.Issuer)
	// RFC 7523 §3: iss and sub are both the client id.
	if clientID == "" || !strings.EqualFold(unverified.Subject, unverified.Issuer) {
		return fail("iss and sub must both be the client id")
	}
	if req.ClientID != "" && !strings.EqualFold(req.ClientID, clientID) {
		return fail("client_id %s does not match the assertion issuer", req.ClientID)
	}
	app, certs, err := h.dir.ClientCertificates(ctx, req.TenantID, clientID)
	if err != nil {
		return directory.Client{}, clientError(err)
	}
	payload, used := verifyAssertion(jws, certs)
	if payload == nil {
		return fail("no registered certificate of client %s verifies the signature", clientID)
	}
	var claims assertionClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return fail("payload is not JSON")
	}
	now := h.now()
	skew := int64(h.skew / time.Second)
	switch {
	case claims.Expiry == nil:
		return fail("exp is missing")
	case now.Unix() > *claims.Expiry+skew:
		return fail("expired")
	case time.Unix(*claims.Expiry, 0).Sub(now) > maxAssertionLifetime:
		return fail("exp is more than %v ahead", maxAssertionLifetime)
	case claims.NotBefore != nil && now.Unix() < *claims.NotBefore-skew:
		return fail("not yet valid")
	case claims.ID == "":
		return fail("jti is missing")
	}
	if !h.assertionAudienceOK(req, claims.audiences()) {
		return fail("aud %q does not name this token endpoint", claims.audiences())
	}
	// RFC 7523 §3 item 7: the jti may be used once. Recording it is durable
	// before any token is issued.
	if err := h.dir.ConsumeAssertionID(ctx, req.TenantID, clientID, claims.ID, time.Unix(*claims.Expiry+skew, 0)); err != nil {
		if errors.Is(err, directory.ErrReplay) {
			return fail("jti %q was already used", claims.ID)
		}
		return directory.Client{}, errServer(err)
	}
	c, err := h.dir.AuthenticatedByCertificate(ctx, req.TenantID, app, used)
	if err != nil {
		return directory.Client{}, clientError(err)
	}
	return c, nil
}

// verifyAssertion returns the payload of the assertion and the
// certificate that verifies it, or nil when none does.
func verifyAssertion(jws *jose.JSONWebSignature, certs []directory.Credential) ([]byte, directory.Credential) {
	hdr := jws.Signatures[0].Header
	x5t, _ := hdr.ExtraHeaders["x5t"].(string)
	x5tS256, _ := hdr.ExtraHeaders["x5t#S256"].(string)
	for _, c := range certs {
		if !thumbprintMatches(c, x5t, x5tS256) {
			continue
		}
		cert, err := x509.ParseCertificate(c.CertificateDER)
		if err != nil {
			continue
		}
		if p, err := jws.Verify(cert.PublicKey); err == nil {
			return p, c
		}
	}
	return nil, directory.Credential{}
}

// thumbprintMatches: when the assertion names its certificate (x5t is
// SHA-1, x5t#S256 SHA-256, both base64url, RFC 7515 §4.1.7-8), only that
// certificate is tried; otherwise every one is.
func thumbprintMatches(c directory.Credential, x5t, x5tS256 string) bool {
	if x5tS256 != "" {
		sum := sha256.Sum256(c.CertificateDER)
		return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(asBase64URL(x5tS256))) == 1
	}
	if x5t != "" {
		sum := sha1.Sum(c.CertificateDER)
		return base64.RawURLEncoding.EncodeToString(sum[:]) == asBase64URL(x5t)
	}
	return true
}

// asBase64URL turns a thumbprint into unpadded base64url. MSAL for Go
// writes x5t#S256 in the standard alphabet with padding, and Entra accepts
// it; the thumbprint names a certificate, the signature still decides.
func asBase64URL(s string) string {
	return strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(s, "="))
}

// assertionAudienceOK: RFC 7523 §3 item 3 lets the audience be the token
// endpoint URL. Clients address it with the tenant id or the domain, at
// the v1 or v2 path, so each of those is accepted; so is the issuer.
func (h *Handler) assertionAudienceOK(req *tokenRequest, auds []string) bool {
	base := h.publicURL
	accepted := []string{req.Endpoint, token.Issuer(base, req.TenantID, 2), token.Issuer(base, req.TenantID, 1)}
	for _, t := range []string{req.TenantID, req.TenantRef} {
		accepted = append(accepted, base+"/"+t+"/oauth2/v2.0/token", base+"/"+t+"/oauth2/token")
	}
	for _, a := range auds {
		if slices.Contains(accepted, strings.TrimSuffix(a, "/")) || slices.Contains(accepted, a) {
			return true
		}
	}
	return false
}
