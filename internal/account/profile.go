package account

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Profile types, as az names them in an account's user.type.
const (
	// ServicePrincipal signs in with client credentials: a secret or a
	// certificate, kept in the profile.
	ServicePrincipal = "servicePrincipal"
	// User signed in as a person (browser, device code or password) and
	// holds a refresh token, kept in the token cache.
	User = "user"
)

// ErrNotLoggedIn is returned when there is no profile to use.
var ErrNotLoggedIn = errors.New("not logged in")

// Secret is a client secret. It prints as *** so that a profile that ends up
// in a log line or an error message through %v does not leak it; JSON
// encoding, which is how it is stored, sees the real value.
type Secret string

func (Secret) String() string   { return "***" }
func (Secret) GoString() string { return `"***"` }

// Profile is what `tessera login` stores: which identity provider, which
// tenant, which client, and how the client proves itself (a service
// principal) or who signed in with it (a user).
//
// Like az, which keeps a service principal's secret in
// service_principal_entries.json, the secret is kept in clear in
// profiles.json, a 0600 file in the config directory. Anyone who can read
// the user's files can read it; use --certificate where that matters.
type Profile struct {
	Type      string `json:"type"`
	Authority string `json:"authority"` // e.g. https://127.0.0.1:8443, no trailing slash
	Tenant    string `json:"tenant"`    // as the user gave it: a GUID or a domain name
	TenantID  string `json:"tenantId"`  // the GUID discovery resolved Tenant to
	ClientID  string `json:"clientId"`

	// Exactly one of ClientSecret and CertificateFile is set.
	ClientSecret    Secret `json:"clientSecret,omitempty"`
	CertificateFile string `json:"certificateFile,omitempty"` // PEM with the certificate and its private key

	// A user: who signed in. ObjectID and HomeTenantID are the user's
	// home account (client_info's uid and utid, else the ID token's oid
	// and tid); TenantID is the tenant signed in to, which differs for a
	// guest. Username is preferred_username, the UPN.
	Username     string `json:"username,omitempty"`
	ObjectID     string `json:"objectId,omitempty"`
	HomeTenantID string `json:"homeTenantId,omitempty"`

	CAFile    string `json:"caFile,omitempty"` // extra trust anchors for the authority's TLS certificate
	IsDefault bool   `json:"isDefault"`
}

// Key names the profile: one client in one tenant of one authority, and for
// a user, one person. Logging in again with the same replaces the profile.
func (p Profile) Key() string {
	k := p.Authority + "|" + p.TenantID + "|" + p.ClientID
	if p.Type == User {
		k += "|" + p.HomeAccountID()
	}
	return strings.ToLower(k)
}

// HomeAccountID is MSAL's name for a user's account across tenants,
// "{oid}.{home tenant id}"; empty for a service principal. One refresh
// token serves the account in every tenant it may enter.
func (p Profile) HomeAccountID() string {
	if p.Type != User {
		return ""
	}
	return strings.ToLower(p.ObjectID + "." + p.HomeTenantID)
}

// Name is who the profile signs in as: a user's name, or a service
// principal's client id, which is how az names both.
func (p Profile) Name() string {
	if p.Type == User {
		return p.Username
	}
	return p.ClientID
}

// Validate reports every problem with p at once.
func (p Profile) Validate() error {
	var errs []error
	switch p.Type {
	case ServicePrincipal:
		if (p.ClientSecret == "") == (p.CertificateFile == "") {
			errs = append(errs, errors.New("profile needs exactly one of a client secret and a certificate"))
		}
	case User:
		if p.ObjectID == "" || p.HomeTenantID == "" {
			errs = append(errs, errors.New("user profile has no object id or home tenant id"))
		}
		if p.ClientSecret != "" || p.CertificateFile != "" {
			errs = append(errs, errors.New("user profile must not hold client credentials: the CLI is a public client"))
		}
	default:
		errs = append(errs, fmt.Errorf("profile type %q is not supported", p.Type))
	}
	if err := CheckAuthority(p.Authority); err != nil {
		errs = append(errs, err)
	}
	if p.TenantID == "" {
		errs = append(errs, errors.New("profile has no tenant id"))
	}
	if p.ClientID == "" {
		errs = append(errs, errors.New("profile has no client id"))
	}
	return errors.Join(errs...)
}

// CheckAuthority accepts an https URL with no query or fragment. Plain http
// is allowed only to a loopback address, where nothing crosses the network
// that a secret, a password or a token could be read from.
func CheckAuthority(authority string) error {
	u, err := url.Parse(authority)
	if err != nil || u.Host == "" {
		return fmt.Errorf("authority %q is not an absolute URL like https://127.0.0.1:8443", authority)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("authority %q must not have a query or fragment", authority)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			return nil
		}
		return fmt.Errorf("authority %q must use https: secrets, passwords and tokens must not cross the network in clear", authority)
	}
	return fmt.Errorf("authority %q must be an https URL", authority)
}

// NormalizeAuthority trims the trailing slash, so that the same authority
// typed two ways names the same profile and cache entries.
func NormalizeAuthority(authority string) string {
	return strings.TrimRight(strings.TrimSpace(authority), "/")
}

type profilesDoc struct {
	Version  int       `json:"version"`
	Profiles []Profile `json:"profiles"`
}

func (s *Store) loadProfiles() ([]Profile, error) {
	var doc profilesDoc
	if _, err := s.readJSON(profilesFile, &doc); err != nil {
		return nil, err
	}
	return doc.Profiles, nil
}

func (s *Store) saveProfiles(ps []Profile) error {
	if ps == nil {
		ps = []Profile{}
	}
	return s.writeJSON(profilesFile, profilesDoc{Version: 1, Profiles: ps})
}

// Profiles lists the stored profiles, the default among them.
func (s *Store) Profiles() ([]Profile, error) {
	return s.loadProfiles()
}

// Current is the default profile: the one the last login stored.
func (s *Store) Current() (Profile, error) {
	ps, err := s.loadProfiles()
	if err != nil {
		return Profile{}, err
	}
	for _, p := range ps {
		if p.IsDefault {
			return p, nil
		}
	}
	if len(ps) > 0 {
		// Hand-edited file with no default: the first is as good as any.
		return ps[0], nil
	}
	return Profile{}, ErrNotLoggedIn
}

// SaveProfile stores p, replacing a profile with the same Key, and makes it
// the default, as az makes the account it just logged in with the default.
// Tokens cached for a replaced profile are dropped: they may have been
// issued to a credential that was since rotated.
func (s *Store) SaveProfile(p Profile) error {
	p.Authority = NormalizeAuthority(p.Authority)
	if err := p.Validate(); err != nil {
		return err
	}
	return s.update(func() error {
		doc, err := s.loadTokensDoc()
		if err != nil {
			return err
		}
		if err := s.saveProfileLocked(p); err != nil {
			return err
		}
		if dropAccountTokens(doc, p) {
			return s.saveTokensDoc(doc)
		}
		return nil
	})
}

// saveProfileLocked stores p as the default profile. The caller holds the
// lock.
func (s *Store) saveProfileLocked(p Profile) error {
	p.IsDefault = true
	ps, err := s.loadProfiles()
	if err != nil {
		return err
	}
	out := make([]Profile, 0, len(ps)+1)
	for _, q := range ps {
		if q.Key() == p.Key() {
			continue
		}
		q.IsDefault = false
		out = append(out, q)
	}
	return s.saveProfiles(append(out, p))
}

// SetDefault makes the stored profile with p's Key the default, as
// `az account set` does. It reports false when there is no such profile.
func (s *Store) SetDefault(p Profile) (bool, error) {
	found := false
	err := s.update(func() error {
		ps, err := s.loadProfiles()
		if err != nil {
			return err
		}
		for i := range ps {
			ps[i].IsDefault = ps[i].Key() == p.Key()
			found = found || ps[i].IsDefault
		}
		if !found {
			return nil
		}
		return s.saveProfiles(ps)
	})
	return found, err
}

// RemoveProfile deletes the profile with p's Key and every token cached
// with its credentials, a user's refresh token among them. If it was the default, the first remaining profile
// becomes the default. It reports false when there was no such profile.
func (s *Store) RemoveProfile(p Profile) (bool, error) {
	found := false
	err := s.update(func() error {
		ps, err := s.loadProfiles()
		if err != nil {
			return err
		}
		out := ps[:0]
		hadDefault := false
		for _, q := range ps {
			if q.Key() == p.Key() {
				found = true
				continue
			}
			hadDefault = hadDefault || q.IsDefault
			out = append(out, q)
		}
		if !found {
			return nil
		}
		if !hadDefault && len(out) > 0 {
			out[0].IsDefault = true
		}
		if err := s.saveProfiles(out); err != nil {
			return err
		}
		doc, err := s.loadTokensDoc()
		if err != nil {
			return err
		}
		if dropAccountTokens(doc, p) {
			return s.saveTokensDoc(doc)
		}
		return nil
	})
	return found, err
}
