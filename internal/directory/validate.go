package directory

import (
	"net/url"
	"regexp"
	"strings"
)

// Scope and role values appear in tokens (scp, roles) and in scope strings
// separated by spaces, so they are restricted to visible characters that
// need no quoting (RFC 6749 §3.3 allows more; Entra allows these).
var valueRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$`)

// normalizeApplication fills defaults that depend on the application itself
// (ids of scopes and roles), normalizes nil lists to empty ones, and
// validates everything. It is the one place the rules of an app
// registration live.
func (s *Service) normalizeApplication(a *Application) error {
	a.DisplayName = strings.TrimSpace(a.DisplayName)
	if a.DisplayName == "" {
		return invalid("an application needs a display name")
	}
	if len(a.DisplayName) > 256 {
		return invalid("display name is longer than 256 characters")
	}
	if a.AccessTokenAcceptedVersion != 1 && a.AccessTokenAcceptedVersion != 2 {
		return invalid("accessTokenAcceptedVersion must be 1 or 2")
	}
	if a.AccessTokenLifetime < MinAccessTokenLifetime || a.AccessTokenLifetime > MaxAccessTokenLifetime {
		return invalid("access token lifetime must be between %v and %v", MinAccessTokenLifetime, MaxAccessTokenLifetime)
	}

	a.IdentifierURIs = nonNil(a.IdentifierURIs)
	seen := map[string]bool{}
	for _, u := range a.IdentifierURIs {
		if err := validateIdentifierURI(u); err != nil {
			return err
		}
		if seen[u] {
			return invalid("identifier URI %q is listed twice", u)
		}
		seen[u] = true
	}

	a.Scopes = nonNil(a.Scopes)
	seen = map[string]bool{}
	for i := range a.Scopes {
		sc := &a.Scopes[i]
		if !valueRE.MatchString(sc.Value) {
			return invalid("scope value %q must be letters, digits and . _ : -", sc.Value)
		}
		if reservedScopes[strings.ToLower(sc.Value)] {
			return invalid("scope value %q is reserved by OpenID Connect", sc.Value)
		}
		if seen[sc.Value] {
			return invalid("scope %q is defined twice", sc.Value)
		}
		seen[sc.Value] = true
		if err := s.fillID(&sc.ID, "scope", sc.Value); err != nil {
			return err
		}
	}

	a.AppRoles = nonNil(a.AppRoles)
	seen = map[string]bool{}
	for i := range a.AppRoles {
		r := &a.AppRoles[i]
		if !valueRE.MatchString(r.Value) {
			return invalid("app role value %q must be letters, digits and . _ : -", r.Value)
		}
		if seen[r.Value] {
			return invalid("app role %q is defined twice", r.Value)
		}
		seen[r.Value] = true
		if r.DisplayName == "" {
			r.DisplayName = r.Value
		}
		if len(r.AllowedMemberTypes) == 0 {
			r.AllowedMemberTypes = []string{MemberTypeApplication, MemberTypeUser}
		}
		for _, m := range r.AllowedMemberTypes {
			if m != MemberTypeApplication && m != MemberTypeUser {
				return invalid("app role %q: allowed member type %q is not Application or User", r.Value, m)
			}
		}
		if err := s.fillID(&r.ID, "app role", r.Value); err != nil {
			return err
		}
	}

	a.RedirectURIs = nonNil(a.RedirectURIs)
	for _, u := range a.RedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return err
		}
	}

	a.PreAuthorized = nonNil(a.PreAuthorized)
	for i := range a.PreAuthorized {
		p := &a.PreAuthorized[i]
		p.AppID = strings.ToLower(p.AppID)
		if !IsGUID(p.AppID) {
			return invalid("pre-authorized application %q is not an appId GUID", p.AppID)
		}
		p.Scopes = nonNil(p.Scopes)
		for _, v := range p.Scopes {
			if !seenScope(a.Scopes, v) {
				return invalid("pre-authorized application %s names scope %q, which the application does not expose", p.AppID, v)
			}
		}
	}
	return nil
}

var reservedScopes = map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true, ".default": true}

func seenScope(scopes []Scope, value string) bool {
	for _, s := range scopes {
		if s.Value == value {
			return true
		}
	}
	return false
}

func (s *Service) fillID(id *string, what, value string) error {
	if *id == "" {
		*id = s.newID()
		return nil
	}
	*id = strings.ToLower(*id)
	if !IsGUID(*id) {
		return invalid("%s %q: id %q is not a GUID", what, value, *id)
	}
	return nil
}

// validateIdentifierURI: an identifier URI names a resource in `resource`
// and as the prefix of scopes (`{uri}/.default`), so it must be absolute,
// without fragment or query, and must not end in a slash-separated scope.
func validateIdentifierURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
		return invalid("identifier URI %q must be an absolute URI such as api://my-api", raw)
	}
	if u.Fragment != "" || u.RawQuery != "" || strings.ContainsAny(raw, " \t\n#?*") {
		return invalid("identifier URI %q must not have a query, fragment, spaces or wildcards", raw)
	}
	if strings.HasSuffix(raw, "/.default") {
		return invalid("identifier URI %q must not end in /.default", raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "api", "https", "http", "urn":
	default:
		return invalid("identifier URI %q: scheme must be api, https, http or urn", raw)
	}
	return nil
}

// validateRedirectURI applies RFC 6749 §3.1.2 (absolute, no fragment) and
// RFC 9700 §4.1 / RFC 8252 §7.3 (https, or http only to a loopback host;
// private-use schemes for native apps; no wildcards).
func validateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return invalid("redirect URI %q must be an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return invalid("redirect URI %q must not contain a fragment (RFC 6749 §3.1.2)", raw)
	}
	if strings.Contains(raw, "*") {
		return invalid("redirect URI %q must not contain wildcards (RFC 9700 §4.1.3)", raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		if u.Host == "" {
			return invalid("redirect URI %q has no host", raw)
		}
	case "http":
		h := u.Hostname()
		if h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return invalid("redirect URI %q: http is allowed only for localhost and loopback addresses (RFC 8252 §7.3)", raw)
		}
	case "javascript", "data", "file", "vbscript":
		return invalid("redirect URI %q: scheme %s is not allowed", raw, u.Scheme)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
