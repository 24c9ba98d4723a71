package oauth

import (
	"net/http"
	"strings"
)

// userRealm is Entra's home-realm discovery answer. MSAL (Go, Python,
// .NET) asks /common/UserRealm/{username}?api-version=1.0 before a password
// grant, to learn whether the user's domain is federated (then it runs
// WS-Trust) or managed (then it posts the password to the token endpoint),
// and refuses the grant when the lookup fails.
type userRealm struct {
	Version           string `json:"ver"`
	AccountType       string `json:"account_type"` // Managed, Federated, Unknown
	DomainName        string `json:"domain_name"`
	CloudInstanceName string `json:"cloud_instance_name"`
	CloudAudienceURN  string `json:"cloud_audience_urn"`
}

// userRealmHandler answers by the domain alone: a tenant's domain (or,
// for a bare name, the home tenant) is Managed, anything else Unknown, as
// Entra answers for a domain it does not know. Whether the user exists is
// not said, so the lookup cannot enumerate users; the token endpoint
// decides.
func (h *Handler) userRealmHandler(w http.ResponseWriter, r *http.Request) {
	username := r.PathValue("username")
	domain := ""
	if i := strings.LastIndexByte(username, '@'); i >= 0 {
		domain = username[i+1:]
	}
	ref := domain
	if ref == "" {
		ref = h.home
	}
	realm := userRealm{Version: "1.0", AccountType: "Unknown", DomainName: domain,
		CloudInstanceName: hostOf(h.publicURL), CloudAudienceURN: "urn:federation:MicrosoftOnline"}
	if ref != "" && !multiTenantAliases[ref] {
		if t, oerr := h.lookupTenant(r.Context(), ref); oerr == nil {
			realm.AccountType = "Managed"
			if realm.DomainName == "" {
				realm.DomainName = t.Domain
			}
		} else if oerr.Status >= 500 {
			writeError(w, r, h.log, oerr)
			return
		}
	}
	writeJSON(w, http.StatusOK, realm)
}
