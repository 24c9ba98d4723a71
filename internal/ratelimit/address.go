package ratelimit

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Addresses finds the address a request comes from and whether it is
// exempt from the per-address limits.
type Addresses struct {
	trusted []netip.Prefix
	exempt  []netip.Prefix
	log     *slog.Logger
	warned  sync.Once
	// malformed warns once of a hop that is not an address.
	malformed sync.Once
}

// NewAddresses: X-Forwarded-For is believed only when the connection comes
// from a trusted proxy; exempt addresses are not limited per address.
func NewAddresses(trusted, exempt []netip.Prefix, log *slog.Logger) *Addresses {
	if log == nil {
		log = slog.Default()
	}
	return &Addresses{trusted: trusted, exempt: exempt, log: log}
}

// ParsePrefixes parses a comma-separated list of CIDR prefixes or bare
// addresses (a bare address is its own /32 or /128).
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func in(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the address of the client that sent r: the connection's
// peer, or, when the peer is a trusted proxy, the right-most hop of
// X-Forwarded-For that is not itself a trusted proxy. Only the right end
// of the header can be believed: each proxy appends the address it saw,
// and everything to the left of the last trusted one is whatever the
// client chose to send.
//
// A hop is read as proxies write it (parseHop): with or without a port,
// an IPv6 address with or without brackets. A hop that is no address at
// all ("unknown", a name, garbage) is still the client a trusted proxy
// named: it stands for itself (StandIn), limited and bannable like any
// address, and is never the proxy or an exempt address. Stopping at it
// instead would make every such client the trusted proxy, which is
// loopback and exempt in the usual deployment.
func (a *Addresses) Client(r *http.Request) netip.Addr {
	peer := remoteAddr(r.RemoteAddr)
	if !peer.IsValid() || !in(a.trusted, peer) {
		if len(a.trusted) == 0 && r.Header.Get("X-Forwarded-For") != "" {
			a.warned.Do(func() {
				a.log.Warn("requests carry X-Forwarded-For but no --trusted-proxies is set: per-address limits count the proxy's address; set --trusted-proxies to the proxies' addresses", "peer", peer.String())
			})
		}
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			// An empty list element (RFC 9110 §5.6.1 allows them) names
			// no one.
			continue
		}
		h, ok := parseHop(hop)
		if !ok {
			client = StandIn(hop)
			a.malformed.Do(func() {
				a.log.Warn("a trusted proxy sent an X-Forwarded-For hop that is not an address: it is limited and banned as its own client under a stand-in address in 2001:db8::/32; fix the proxy's configuration",
					"peer", peer.String(), "hop", truncate(hop, 64), "stand_in", client.String())
			})
			break
		}
		client = h
		if !in(a.trusted, client) {
			break
		}
	}
	return client
}

// parseHop reads one X-Forwarded-For element as proxies write it:
// 203.0.113.5 (nginx), 203.0.113.5:4711 (Azure Application Gateway, IIS
// ARR), 2001:db8::1, [2001:db8::1], [2001:db8::1]:4711, and the quoted
// forms of RFC 7239's Forwarded that some copy over. The zone of a
// link-local address is dropped: it names an interface of the proxy, not
// the client.
func parseHop(s string) (netip.Addr, bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		s = ap.Addr().String()
	} else if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// standInPrefix holds the stand-in addresses: the IPv6 documentation
// prefix (RFC 3849), which no client can connect from, so a stand-in
// never shares a key with a real address.
var standInPrefix = netip.MustParsePrefix("2001:db8::/32")

// StandIn is the address that stands for a client a trusted proxy named by
// something that is not an address: 2001:db8::/32 followed by 32 bits of
// the SHA-256 of what the proxy wrote, so that its /64 (the key of limits
// and bans, Key) is the same on every instance and after a restart, and
// an administrator can list and lift its ban like any other.
func StandIn(hop string) netip.Addr {
	sum := sha256.Sum256([]byte(hop))
	var b [16]byte
	copy(b[:4], standInPrefix.Addr().AsSlice()[:4])
	copy(b[4:8], sum[:4])
	return netip.AddrFrom16(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// Exempt reports whether addr is not limited per address. A stand-in
// (StandIn) never is, whatever --rate-exempt says: it is not an address
// an operator could have meant.
func (a *Addresses) Exempt(addr netip.Addr) bool {
	return in(a.exempt, addr) && !standInPrefix.Contains(addr)
}

// Key is the bucket key of an address: the address itself for IPv4, its
// /64 for IPv6, since one end site gets at least a /64 (RFC 6177) and
// could otherwise draw a new bucket from each of its 2^64 addresses.
func Key(addr netip.Addr) string {
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// Allow spends one request of the bucket of r's client address in l, unless
// the address is exempt or l is off.
func (a *Addresses) Allow(l *Limiter, r *http.Request) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	addr := a.Client(r)
	if a.Exempt(addr) {
		return true, 0
	}
	return l.Allow(Key(addr))
}

// Limits are the server's abuse limits; a nil limiter is off.
type Limits struct {
	Addresses *Addresses
	// TokenClient limits each confidential client (by tenant and client
	// id, once it has authenticated) wherever it authenticates: token,
	// device authorization, revocation and introspection endpoints.
	// Public clients are not counted: anyone may name a public client's
	// id, and one such id (the CLI's) is shared by every user.
	TokenClient *Limiter
	// TokenAddress limits each address at the token and device
	// authorization endpoints.
	TokenAddress *Limiter
	// DeviceAddress limits each address at the device authorization
	// endpoints: each request that passes writes a row (RFC 8628 §5.2).
	DeviceAddress *Limiter
	// SignIn limits each address where a password or a user code is
	// tried: the sign-in page, the product-login API and the device code
	// entry page share it, so guessing through one leaves less for the
	// others.
	SignIn *Limiter
}

// AllowAddress is Addresses.Allow, allowing everything when lim, l or its
// Addresses are nil.
func (l *Limits) AllowAddress(lim *Limiter, r *http.Request) (bool, time.Duration) {
	if l == nil || lim == nil || l.Addresses == nil {
		return true, 0
	}
	return l.Addresses.Allow(lim, r)
}

// SignInAddress is the client address of r that sign-in failures count
// against and address bans apply to (directory.SignInVia.Address): the
// zero Addr when l or its Addresses are nil or the address is exempt, so
// that exempt addresses (loopback by default) are never counted nor
// banned.
func (l *Limits) SignInAddress(r *http.Request) netip.Addr {
	if l == nil || l.Addresses == nil {
		return netip.Addr{}
	}
	addr := l.Addresses.Client(r)
	if !addr.IsValid() || l.Addresses.Exempt(addr) {
		return netip.Addr{}
	}
	return addr
}

// AllowClient spends one request of the TokenClient bucket of a client
// that authenticated with a credential, in a tenant: the key comes from
// the directory, never from what an unauthenticated caller typed.
func (l *Limits) AllowClient(tenantID, clientID string) (bool, time.Duration) {
	if l == nil || l.TokenClient == nil {
		return true, 0
	}
	return l.TokenClient.Allow(tenantID + "/" + strings.ToLower(clientID))
}
