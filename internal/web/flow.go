package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// flowLifetime bounds how long a page's sealed flow stays usable: a person
// has ten minutes per page, and a copied form goes stale.
const flowLifetime = 10 * time.Minute

// Flow kinds.
const (
	kindAuthorize = "authorize"
	kindDevice    = "device"
)

// Flow purposes, bound into the seal as associated data so that a flow
// sealed for one page cannot be posted to another (a sign-in page's flow,
// which names no user, is never accepted as consent).
const (
	purposeSignIn  = "signin"
	purposeSelect  = "select"
	purposeConsent = "consent"
)

// flow is a validated authorization (or device) request carried between
// pages sealed (encrypted and authenticated) in a hidden form field, so
// the server keeps nothing per page view and trusts nothing in a form that
// it did not seal itself.
type flow struct {
	Kind    string `json:"k"`
	Expires int64  `json:"exp"`
	Version int    `json:"v"`
	// TenantRef is the {tenant} segment of the request; TenantID the
	// tenant, "" on /common/ and /organizations/ until the user name
	// decides it.
	TenantRef string `json:"tr"`
	TenantID  string `json:"t,omitempty"`

	ClientID            string   `json:"c"`
	RedirectURI         string   `json:"ru,omitempty"` // as sent; "" if absent
	ResponseType        string   `json:"rt,omitempty"`
	ResponseMode        string   `json:"rm,omitempty"`
	State               string   `json:"st,omitempty"`
	Nonce               string   `json:"n,omitempty"`
	Scope               string   `json:"sc,omitempty"`
	Resource            string   `json:"rs,omitempty"`
	CodeChallenge       string   `json:"cc,omitempty"`
	CodeChallengeMethod string   `json:"ccm,omitempty"`
	Prompt              []string `json:"p,omitempty"`
	LoginHint           string   `json:"lh,omitempty"`
	DomainHint          string   `json:"dh,omitempty"`
	// Duplicate names a parameter sent more than once (RFC 6749 §3.1),
	// refused once the redirect URI is known to be safe to answer to.
	Duplicate []string `json:"dup,omitempty"`

	// UserCode is the device flow's normalized user code.
	UserCode string `json:"uc,omitempty"`

	// Set once a user is signed in: the consent page's flow names the
	// user and the browser session it was shown in.
	UserID        string `json:"u,omitempty"`
	SessionID     string `json:"sid,omitempty"`
	AccountChosen bool   `json:"ac,omitempty"` // prompt=select_account answered
}

func (f flow) prompt(p string) bool { return slices.Contains(f.Prompt, p) }

var errBadFlow = errors.New("web: flow is not sealed by this server, expired, or for another page")

func flowAAD(purpose string) []byte { return []byte("tessera/v1/web-flow/" + purpose) }

// seal returns f sealed for purpose, with a fresh expiry.
func (h *Handler) seal(f flow, purpose string) (string, error) {
	f.Expires = h.now().Add(flowLifetime).Unix()
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	s, err := h.secrets.Seal(b, flowAAD(purpose))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s), nil
}

// open reverses seal and checks the expiry.
func (h *Handler) open(v, purpose string) (flow, error) {
	var f flow
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(v) > 16<<10 {
		return f, errBadFlow
	}
	b, err := h.secrets.Open(raw, flowAAD(purpose))
	if err != nil {
		return f, errBadFlow
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, errBadFlow
	}
	if h.now().Unix() >= f.Expires {
		return f, errBadFlow
	}
	return f, nil
}
