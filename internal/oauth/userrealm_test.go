package oauth_test

import "testing"

// TestUserRealm: MSAL's home-realm discovery before a password grant is
// answered by the domain alone, so that it cannot tell which users exist.
func TestUserRealm(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, path, accountType, domain string
	}{
		{"a tenant's domain is managed (MSAL Go's spelling)", "/common/UserRealm/alice@contoso?api-version=1.0", "Managed", "contoso"},
		{"MSAL Python's spelling", "/common/userrealm/alice@contoso?api-version=1.0", "Managed", "contoso"},
		{"a user who does not exist, same answer", "/common/UserRealm/nobody@contoso?api-version=1.0", "Managed", "contoso"},
		{"a domain no tenant has", "/common/UserRealm/alice@fabrikam.example?api-version=1.0", "Unknown", "fabrikam.example"},
		{"a bare name, no home tenant configured", "/common/UserRealm/alice?api-version=1.0", "Unknown", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.get(tc.path)
			if r.status != 200 || r.str("account_type") != tc.accountType || r.str("domain_name") != tc.domain ||
				r.str("ver") != "1.0" || r.str("cloud_audience_urn") == "" || r.str("cloud_instance_name") == "" {
				t.Errorf("%d %s", r.status, r.raw)
			}
		})
	}
}
