package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// multiTenant are the {tenant} values that stand for "the user's tenant":
// the user name (or domain_hint) decides it at sign-in, as in Entra.
var multiTenant = map[string]bool{"common": true, "organizations": true}

// authorize serves the authorization endpoint (RFC 6749 §3.1, §4.1.1;
// OIDC Core §3.1.2) for v2 (scope) or v1 (resource).
func (h *Handler) authorize(version int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			h.errorPage(w, r, pageBadRequest("Bad request", "The request could not be read."))
			return
		}
		h.start(w, r, parseAuthorize(r.Form, version, r.PathValue("tenant")))
	}
}

func parseAuthorize(form url.Values, version int, tenantRef string) flow {
	f := flow{Kind: kindAuthorize, Version: version, TenantRef: tenantRef}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// RFC 6749 §3.1: parameters MUST NOT be sent more than once.
		if len(form[k]) > 1 {
			f.Duplicate = append(f.Duplicate, k)
		}
	}
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f.ClientID = strings.ToLower(strings.TrimSpace(get("client_id")))
	f.RedirectURI = get("redirect_uri")
	f.ResponseType = get("response_type")
	f.ResponseMode = get("response_mode")
	f.State = get("state")
	f.Nonce = get("nonce")
	f.Scope = get("scope")
	if version == 1 {
		f.Resource = get("resource")
	}
	f.CodeChallenge = get("code_challenge")
	f.CodeChallengeMethod = get("code_challenge_method")
	f.Prompt = strings.Fields(get("prompt"))
	f.LoginHint = strings.TrimSpace(get("login_hint"))
	f.DomainHint = strings.ToLower(strings.TrimSpace(get("domain_hint")))
	return f
}

// start decides the tenant of a new request and goes on. On /common/ and
// /organizations/ (and /adfs/ when the client does not decide it, see
// adfs.go) a domain_hint or a login_hint's domain decides it, else a
// single signed-in tenant, else the user name typed at sign-in.
func (h *Handler) start(w http.ResponseWriter, r *http.Request, f flow) {
	ctx := r.Context()
	if !multiTenant[f.TenantRef] && f.TenantRef != adfsSegment {
		t, err := h.dir.ResolveTenant(ctx, f.TenantRef)
		if errors.Is(err, directory.ErrNotFound) {
			h.errorPage(w, r, pageUnknownTenant())
			return
		}
		if err != nil {
			h.errorPage(w, r, pageServer(err))
			return
		}
		f.TenantID = t.ID
		h.advance(w, r, f, nil)
		return
	}
	switch {
	case f.DomainHint != "":
		t, err := h.dir.ResolveTenant(ctx, f.DomainHint)
		if errors.Is(err, directory.ErrNotFound) {
			h.errorPage(w, r, pageUnknownTenant())
			return
		}
		if err != nil {
			h.errorPage(w, r, pageServer(err))
			return
		}
		f.TenantID = t.ID
	case strings.Contains(f.LoginHint, "@"):
		_, domain, _ := strings.Cut(f.LoginHint, "@")
		if t, err := h.dir.ResolveTenant(ctx, domain); err == nil {
			f.TenantID = t.ID
		}
	case !f.prompt("login"):
		if tids := h.signedInTenants(r); len(tids) == 1 {
			f.TenantID = tids[0]
		}
	}
	if f.TenantID == "" && f.Kind == kindAuthorize && h.refuseBeforeSignIn(w, r, f) {
		return
	}
	h.advance(w, r, f, nil)
}

// refuseBeforeSignIn answers a request the person's tenant is not yet
// known for (the user name typed at sign-in will decide it) but that can
// only ever be served by one tenant: its client, or the resource its scope
// names by application id, is registered by that tenant alone (ids are
// unique across tenants; the well-known ones every tenant has are not
// used). If the request is invalid there (a scope the resource does not
// expose, a bad response type, no PKCE) it fails now, as Entra refuses it
// before asking for a password, rather than after the person signed in to
// be told. It reports whether it answered. Anything else — a client that
// tenant does not have, a page error, a server error — is left to the
// flow after sign-in, which decides it as before: the precheck never lets
// through what the full check would refuse.
//
// What it tells an anonymous caller (that an application id's tenant
// does or does not expose a scope) is what the tenant's own endpoint
// (/{tenant}/oauth2/v2.0/authorize) tells anyone who names the tenant.
func (h *Handler) refuseBeforeSignIn(w http.ResponseWriter, r *http.Request, f flow) bool {
	ctx := r.Context()
	candidates := []string{f.ClientID}
	for _, s := range strings.Fields(f.Scope) {
		if rest, ok := strings.CutPrefix(strings.ToLower(s), "api://"); ok {
			id, _, _ := strings.Cut(rest, "/")
			candidates = append(candidates, id)
		}
	}
	for _, appID := range candidates {
		t, ok, err := h.dir.TenantOfApplication(ctx, appID)
		if err != nil || !ok {
			continue
		}
		pre := f
		pre.TenantID = t.ID
		tg, perr := h.resolveClient(ctx, pre)
		if perr != nil {
			return false
		}
		if _, aerr := h.validate(ctx, pre, tg); aerr != nil && aerr.Code != "server_error" {
			h.fail(w, r, pre, tg, aerr)
			return true
		}
		return false
	}
	return false
}

// target is what a flow resolves to in its tenant.
type target struct {
	tenant   directory.Tenant
	app      directory.Application
	redirect string // the redirect URI answers go to; "" in a device flow
}

// resolveClient finds the tenant, the client and, for an authorization
// request, its redirect URI. Failures are pages: until the redirect URI
// is known to be registered, nothing may be sent to it.
func (h *Handler) resolveClient(ctx context.Context, f flow) (target, *pageError) {
	var tg target
	t, err := h.dir.ResolveTenant(ctx, f.TenantID)
	if errors.Is(err, directory.ErrNotFound) {
		return tg, pageUnknownTenant()
	}
	if err != nil {
		return tg, pageServer(err)
	}
	tg.tenant = t
	if slices.Contains(f.Duplicate, "client_id") || !directory.IsGUID(f.ClientID) {
		return tg, pageUnknownClient(fmt.Errorf("client_id %q is missing, repeated or not a GUID", f.ClientID))
	}
	tg.app, err = h.dir.ApplicationByAppID(ctx, t.ID, f.ClientID)
	if errors.Is(err, directory.ErrNotFound) {
		return tg, pageUnknownClient(fmt.Errorf("no application %s in tenant %s", f.ClientID, t.ID))
	}
	if err != nil {
		return tg, pageServer(err)
	}
	if f.Kind == kindDevice {
		return tg, nil
	}
	if slices.Contains(f.Duplicate, "redirect_uri") {
		return tg, pageBadRedirect(errors.New("redirect_uri sent more than once"))
	}
	ru, ok := matchRedirect(tg.app, f.RedirectURI)
	if !ok {
		return tg, pageBadRedirect(fmt.Errorf("redirect_uri %q is not registered for %s", f.RedirectURI, f.ClientID))
	}
	tg.redirect = ru
	return tg, nil
}

// A code_challenge is 43 to 128 unreserved characters (RFC 7636 §4.2).
var challengeRE = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

var prompts = []string{"login", "none", "consent", "select_account"}

// maxEchoed bounds the request values a flow carries from page to page.
const maxEchoed = 8 << 10

// validate checks the rest of the request once its answers can go to the
// client, and resolves the scopes.
func (h *Handler) validate(ctx context.Context, f flow, tg target) (directory.ScopeRequest, *authError) {
	if f.Kind == kindAuthorize {
		// Everything below travels sealed in each page's hidden field.
		if len(f.State)+len(f.Nonce)+len(f.Scope)+len(f.LoginHint)+len(f.Resource) > maxEchoed {
			return directory.ScopeRequest{}, errRequest("state, nonce, scope and login_hint are too long together.")
		}
		if len(f.Duplicate) > 0 {
			return directory.ScopeRequest{}, errRequest("The parameter '" + f.Duplicate[0] + "' was sent more than once (RFC 6749 §3.1).")
		}
		switch f.ResponseType {
		case "code":
		case "":
			return directory.ScopeRequest{}, errRequest("The request must contain the parameter 'response_type'.")
		default:
			return directory.ScopeRequest{}, errUnsupportedResponseType()
		}
		switch f.ResponseMode {
		case "", "query":
		case "form_post":
			if !isWebURI(tg.redirect) {
				return directory.ScopeRequest{}, errRequest("response_mode=form_post needs an https or http redirect URI.")
			}
		default:
			return directory.ScopeRequest{}, errRequest("response_mode must be 'query' or 'form_post'.")
		}
		for _, p := range f.Prompt {
			if !slices.Contains(prompts, p) {
				return directory.ScopeRequest{}, errRequest("prompt must be one of login, none, consent, select_account.")
			}
		}
		if f.prompt("none") && len(f.Prompt) > 1 {
			return directory.ScopeRequest{}, errRequest("prompt=none cannot be combined with other prompt values (OIDC Core §3.1.2.1).")
		}
		if aerr := checkPKCE(f, tg.app); aerr != nil {
			return directory.ScopeRequest{}, aerr
		}
		if f.Version == 2 && strings.TrimSpace(f.Scope) == "" {
			return directory.ScopeRequest{}, errRequest("The request must contain the parameter 'scope'.")
		}
	}
	sp, err := h.dir.GetServicePrincipal(ctx, tg.tenant.ID, tg.app.AppID)
	if errors.Is(err, directory.ErrNotFound) || (err == nil && !sp.Enabled) {
		return directory.ScopeRequest{}, errUnauthorizedClient(fmt.Errorf("client %s: no enabled service principal", tg.app.AppID))
	}
	if err != nil {
		return directory.ScopeRequest{}, errServerRedirect(err)
	}
	q, err := h.dir.ParseScopes(ctx, tg.tenant.ID, f.Scope, f.Resource)
	if errors.Is(err, directory.ErrInvalidScope) || errors.Is(err, directory.ErrUnknownResource) {
		return directory.ScopeRequest{}, errScope(err)
	}
	if err != nil {
		return directory.ScopeRequest{}, errServerRedirect(err)
	}
	return q, nil
}

// checkPKCE applies RFC 7636 with RFC 9700 §2.1.1: public clients must
// send a challenge, and only S256 is accepted: "plain" protects nothing
// when the request itself can be observed.
func checkPKCE(f flow, app directory.Application) *authError {
	if f.CodeChallenge == "" {
		if f.CodeChallengeMethod != "" {
			return errRequest("code_challenge_method was sent without code_challenge.")
		}
		if app.PublicClient {
			return errRequest("AADSTS9002325: Proof Key for Code Exchange is required for public clients: send code_challenge and code_challenge_method=S256.")
		}
		return nil
	}
	if f.CodeChallengeMethod != "S256" {
		return errRequest("code_challenge_method must be S256; 'plain' (the default when it is absent) is not accepted.")
	}
	if !challengeRE.MatchString(f.CodeChallenge) {
		return errRequest("code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_', '~' (RFC 7636 §4.2).")
	}
	return nil
}

func isWebURI(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (strings.EqualFold(u.Scheme, "https") || strings.EqualFold(u.Scheme, "http"))
}

// advance takes a flow as far as it can go without the person: resolve
// and validate, single sign-on, account choice, consent, and the code.
// confirmed is a browser session the person signed in to or picked just
// now, which satisfies prompt=login and prompt=select_account.
func (h *Handler) advance(w http.ResponseWriter, r *http.Request, f flow, confirmed *session.BrowserSession) {
	ctx := r.Context()
	if f.TenantID == "" {
		if f.prompt("none") {
			h.errorPage(w, r, pageBadRequest("Sign-in required",
				"The application asked to sign you in without showing a page (prompt=none), but no one is signed in here. Go back and sign in."))
			return
		}
		h.showSignIn(w, r, f, nil, "", "")
		return
	}
	tg, perr := h.resolveClient(ctx, f)
	if perr != nil {
		h.errorPage(w, r, perr)
		return
	}
	q, aerr := h.validate(ctx, f, tg)
	if aerr != nil {
		h.fail(w, r, f, tg, aerr)
		return
	}
	bs := confirmed
	if bs == nil && !f.prompt("login") {
		bs = h.cookieSession(r, tg.tenant.ID)
	}
	var user directory.User
	if bs != nil {
		u, err := h.dir.GetUser(ctx, tg.tenant.ID, bs.UserID)
		switch {
		case errors.Is(err, directory.ErrNotFound) || (err == nil && !u.Enabled):
			bs = nil
		case err != nil:
			h.fail(w, r, f, tg, errServerRedirect(err))
			return
		case confirmed == nil && f.LoginHint != "" && !sameUser(f.LoginHint, u, tg.tenant):
			// The application asks for another account than the one
			// signed in (OIDC Core §3.1.2.1 login_hint).
			bs = nil
		default:
			user = u
		}
	}
	if bs == nil {
		if f.prompt("none") {
			h.fail(w, r, f, tg, errLoginRequired())
			return
		}
		h.showSignIn(w, r, f, &tg, "", "")
		return
	}
	if confirmed == nil && f.prompt("select_account") && !f.AccountChosen {
		h.showSelectAccount(w, r, f, tg, user)
		return
	}
	// Before consent and before any code or approval: a user the token's
	// resource does not accept gets nothing to redeem (Entra refuses at
	// sign-in too).
	if aerr := h.checkAssigned(ctx, tg, user, q); aerr != nil {
		if f.Kind == kindDevice {
			// The device learns of it at its next poll (access_denied)
			// instead of polling until the code expires.
			if err := h.sessions.DenyDevice(ctx, tg.tenant.ID, f.UserCode); err != nil && !errors.Is(err, session.ErrNotFound) && !errors.Is(err, session.ErrUsed) {
				h.errorPage(w, r, pageServer(err))
				return
			}
		}
		h.fail(w, r, f, tg, aerr)
		return
	}
	d, err := h.dir.ScopeDecision(ctx, tg.tenant.ID, tg.app, user.ObjectID, q)
	if err != nil {
		h.fail(w, r, f, tg, errServerRedirect(err))
		return
	}
	// A device flow always asks: the person must confirm that the code
	// came from their own device (RFC 8628 §5.4, remote phishing).
	if !d.Missing.Empty() || f.prompt("consent") || f.Kind == kindDevice {
		if f.prompt("none") {
			h.fail(w, r, f, tg, errConsentRequired())
			return
		}
		h.showConsent(w, r, f, tg, user, *bs, d.Granted, d.Missing)
		return
	}
	h.finish(w, r, f, tg, user, *bs, d.Granted)
}

// checkAssigned asks the directory whether the user may have a token for
// the resource the request's token would be for (directory.AuthorizeUser).
func (h *Handler) checkAssigned(ctx context.Context, tg target, user directory.User, q directory.ScopeRequest) *authError {
	client := directory.Client{App: tg.app}
	if len(q.Resources) == 0 {
		sp, err := h.dir.GetServicePrincipal(ctx, tg.tenant.ID, tg.app.AppID)
		if err != nil {
			return errServerRedirect(err)
		}
		client.SP = sp
	}
	res := q.Audience(client)
	_, err := h.dir.AuthorizeUser(ctx, tg.tenant.ID, user.ObjectID, res)
	switch {
	case errors.Is(err, directory.ErrUserNotAssigned):
		return errNotAssigned(user, res, err)
	case err != nil:
		return errServerRedirect(err)
	}
	return nil
}

// sameUser compares a login_hint with a user, completing a bare name
// with the tenant's domain as sign-in does.
func sameUser(hint string, u directory.User, t directory.Tenant) bool {
	hint = strings.ToLower(hint)
	if !strings.Contains(hint, "@") {
		hint += "@" + t.Domain
	}
	return strings.EqualFold(hint, u.UserPrincipalName)
}

// fail answers an error: to the client's redirect URI in an authorization
// request, on a page in a device flow.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, f flow, tg target, e *authError) {
	if f.Kind == kindDevice {
		pe := pageBadRequest("Sign-in cannot continue", e.Description)
		if e.Code == "server_error" {
			pe = pageServer(e.Cause)
		}
		h.errorPage(w, r, pe)
		return
	}
	if e.Code == "server_error" {
		h.log.Error("web: authorize", "client_id", tg.app.AppID, "err", e.Cause)
	} else {
		h.log.Info("web: authorize refused", "client_id", tg.app.AppID, "error", e.Code, "reason", e.Cause)
	}
	h.respond(w, r, f, tg, url.Values{"error": {e.Code}, "error_description": {e.Description}})
}

// respond sends an authorization response (RFC 6749 §4.1.2) with state
// unchanged and iss (RFC 9207 §2, the issuer of the endpoint's version),
// in the query or as an auto-submitted form (OAuth 2.0 Form Post Response
// Mode).
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, f flow, tg target, params url.Values) {
	if f.State != "" {
		params.Set("state", f.State)
	}
	params.Set("iss", h.authorizationIssuer(f, tg.tenant.ID))
	if f.ResponseMode != "form_post" || !isWebURI(tg.redirect) {
		redirect(w, r, withParams(tg.redirect, params))
		return
	}
	v := view{Page: "form_post", Title: "Returning to the application", Target: tg.redirect}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.Fields = append(v.Fields, field{Name: k, Value: params.Get(k)})
	}
	// form-action names the client's origin only: this page posts nowhere
	// else.
	h.render(w, http.StatusOK, v, cspOrigin(tg.redirect))
}
