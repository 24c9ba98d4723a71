// Package studies is an example API protected by package guard: the
// clinical studies of the caller's tenant, paged as ODM-style APIs page,
// and an /account/me endpoint echoing who the token says the caller is.
package studies

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/guard"
)

// Every tenant has StudyCount studies, more than one page of MaxLimit, so
// clients' paging is exercised.
const (
	StudyCount = 2345
	MaxLimit   = 2000
)

// Study is one study of a tenant.
type Study struct {
	OID          string    `json:"oid"`
	Name         string    `json:"name"`
	ProtocolName string    `json:"protocolName"`
	Status       string    `json:"status"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Page is the ODM list shape: the page's position in the whole and its
// items.
type Page struct {
	Meta struct {
		Pagination Pagination `json:"pagination"`
	} `json:"meta"`
	Data []Study `json:"data"`
}

// Pagination says where a page lies: Count items of Total from Offset,
// at most Limit.
type Pagination struct {
	Count  int `json:"count"`
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

// Me is who the token says the caller is.
type Me struct {
	Subject      string    `json:"subject"`
	ObjectID     string    `json:"objectId"`
	TenantID     string    `json:"tenantId"`
	ClientID     string    `json:"clientId"`
	Roles        []string  `json:"roles"`
	Scopes       []string  `json:"scopes"`
	TokenVersion string    `json:"tokenVersion"`
	Issuer       string    `json:"issuer"`
	Audience     []string  `json:"audience"`
	ExpiresAt    time.Time `json:"expiresAt"`
}

// NewHandler serves the API behind g:
//
//	GET /api/v1/as-user/studies?offset=&limit=  role Reader, or scope user_impersonation, default or Studies.Read
//	GET /account/me                             any valid token
func NewHandler(g *guard.Guard) http.Handler {
	readers := g.Middleware(guard.AnyOf(
		guard.RequireRoles("Reader"),
		guard.RequireScopes("user_impersonation", "default", "Studies.Read"),
	))
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/as-user/studies", readers(http.HandlerFunc(listStudies)))
	mux.Handle("GET /account/me", g.Middleware()(http.HandlerFunc(accountMe)))
	return mux
}

func listStudies(w http.ResponseWriter, r *http.Request) {
	p, _ := guard.PrincipalFrom(r.Context())
	offset, limit, problem := pageParams(r.URL.Query())
	if problem != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": problem})
		return
	}
	var page Page
	page.Data = make([]Study, 0, max(0, min(limit, StudyCount-offset)))
	for i := offset; i < StudyCount && i < offset+limit; i++ {
		page.Data = append(page.Data, study(p.TenantID, i))
	}
	page.Meta.Pagination = Pagination{Count: len(page.Data), Total: StudyCount, Offset: offset, Limit: limit}
	writeJSON(w, http.StatusOK, page)
}

// pageParams reads offset (default 0) and limit (default and most
// MaxLimit), or says in one sentence what is wrong with them.
func pageParams(q url.Values) (offset, limit int, problem string) {
	const (
		offsetProblem = "offset must be an integer of 0 or more"
		limitProblem  = "limit must be an integer from 1 to 2000"
	)
	offset, limit = 0, MaxLimit
	if vs, ok := q["offset"]; ok {
		n, err := strconv.Atoi(vs[0])
		if len(vs) > 1 || err != nil || n < 0 {
			return 0, 0, offsetProblem
		}
		offset = n
	}
	if vs, ok := q["limit"]; ok {
		n, err := strconv.Atoi(vs[0])
		if len(vs) > 1 || err != nil || n < 1 || n > MaxLimit {
			return 0, 0, limitProblem
		}
		limit = n
	}
	return offset, limit, ""
}

var (
	areas    = []struct{ name, code string }{{"Oncology", "ONC"}, {"Cardiology", "CAR"}, {"Neurology", "NEU"}, {"Immunology", "IMM"}, {"Endocrinology", "END"}, {"Infectious Disease", "INF"}}
	phases   = []string{"Phase I", "Phase II", "Phase III", "Phase IV"}
	statuses = []string{"Planning", "Active", "Active", "Completed", "Archived"}
	epoch    = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
)

// study is the i-th study of tenant tid. It is derived from a hash of
// both, so every tenant has its own studies and every request sees the
// same ones, with no storage. Studies are ordered by creation.
func study(tid string, i int) Study {
	h := sha256.Sum256([]byte(tid + "/" + strconv.Itoa(i)))
	area := areas[int(h[8])%len(areas)]
	created := epoch.Add(time.Duration(i)*36*time.Hour + time.Duration(binary.BigEndian.Uint16(h[10:12])%(36*60))*time.Minute)
	return Study{
		OID:          "S_" + strings.ToUpper(hex.EncodeToString(h[:6])),
		Name:         fmt.Sprintf("%s %s study %04d", phases[int(h[9])%len(phases)], area.name, i+1),
		ProtocolName: fmt.Sprintf("%s-%d-%04d", area.code, created.Year(), i+1),
		Status:       statuses[int(h[12])%len(statuses)],
		CreatedAt:    created,
	}
}

func accountMe(w http.ResponseWriter, r *http.Request) {
	p, _ := guard.PrincipalFrom(r.Context())
	writeJSON(w, http.StatusOK, Me{
		Subject:      p.Subject,
		ObjectID:     p.ObjectID,
		TenantID:     p.TenantID,
		ClientID:     p.ClientID,
		Roles:        nonNil(p.Roles),
		Scopes:       nonNil(p.Scopes),
		TokenVersion: p.Version,
		Issuer:       p.Issuer,
		Audience:     nonNil(p.Audience),
		ExpiresAt:    p.ExpiresAt,
	})
}

// nonNil makes an absent list [] in JSON, not null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	// Answers depend on the caller's token: no shared cache may keep them.
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
