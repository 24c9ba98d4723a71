package guard

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The guard reads the claims it needs straight out of the payload text
// instead of decoding it into a map[string]any: that map was about sixty
// of a validation's hundred allocations. payloadClaims checks that the
// whole payload is what encoding/json would accept as a JSON object
// (RFC 8259; including its limits: nesting depth, numbers that fit a
// float64), notes where each claim it reads begins and ends, and decodes
// only those. A string without escapes is a substring of the payload, so
// the claims cost no allocation of their own. The rest of the payload
// stays as text for Principal.Claims to decode on demand.
//
// Where encoding/json is lenient, so is this: invalid UTF-8 in a string is
// replaced by U+FFFD, and a member named twice has its last value, the
// one a map[string]any would hold.
//
// Decoding into a struct of these claims with encoding/json instead made
// an RS256 cache miss about a third slower, with twice the allocations
// (see jws.go and BenchmarkVerifyUncached for the figures).

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// claim indexes the claims the guard reads.
type claim int

const (
	claimSub claim = iota
	claimOID
	claimTID
	claimIss
	claimVer
	claimAud
	claimRoles
	claimScp
	claimUTI
	claimJTI
	claimAzp
	claimAppID
	claimSID
	claimIDTyp
	claimIat
	claimNbf
	claimExp
	numClaims
	claimOther = -1
)

func claimOf(name string) claim {
	switch name {
	case "sub":
		return claimSub
	case "oid":
		return claimOID
	case "tid":
		return claimTID
	case "iss":
		return claimIss
	case "ver":
		return claimVer
	case "aud":
		return claimAud
	case "roles":
		return claimRoles
	case "scp":
		return claimScp
	case "uti":
		return claimUTI
	case "jti":
		return claimJTI
	case "azp":
		return claimAzp
	case "appid":
		return claimAppID
	case "sid":
		return claimSID
	case "idtyp":
		return claimIDTyp
	case "iat":
		return claimIat
	case "nbf":
		return claimNbf
	case "exp":
		return claimExp
	}
	return claimOther
}

var (
	errNotObject = errors.New("payload is not a JSON object")
	errClaimType = errors.New("a registered claim has the wrong JSON type")
)

// payloadClaims is a JSON object's text with the members the guard reads
// located in it: each is the raw text of the member's last value, or ""
// when the object has no such member.
type payloadClaims [numClaims]string

// scanPayload checks that payload is one JSON object and locates the
// claims the guard reads.
func scanPayload(payload string) (payloadClaims, error) {
	var c payloadClaims
	s := jsonScanner{s: payload}
	s.ws()
	if s.peek() != '{' {
		return c, errNotObject
	}
	if err := s.object(1, &c); err != nil {
		return c, errNotObject
	}
	s.ws()
	if s.i != len(s.s) {
		return c, errNotObject
	}
	return c, nil
}

// jsonScanner validates JSON text (RFC 8259) as encoding/json's scanner
// does, without building values.
type jsonScanner struct {
	s string
	i int
}

var errSyntax = errors.New("JSON syntax")

func (s *jsonScanner) peek() byte {
	if s.i < len(s.s) {
		return s.s[s.i]
	}
	return 0
}

func (s *jsonScanner) ws() {
	for s.i < len(s.s) {
		switch s.s[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// object scans the object at s.i. When c is not nil, it notes in c the
// raw text of the values of the members the guard reads.
func (s *jsonScanner) object(depth int, c *payloadClaims) error {
	if depth > maxJSONDepth {
		return errSyntax
	}
	s.i++ // '{'
	s.ws()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return errSyntax
		}
		start := s.i
		simple, err := s.str()
		if err != nil {
			return err
		}
		key := s.s[start:s.i]
		s.ws()
		if s.peek() != ':' {
			return errSyntax
		}
		s.i++
		s.ws()
		vstart := s.i
		if err := s.value(depth); err != nil {
			return err
		}
		if c != nil {
			if simple {
				key = key[1 : len(key)-1]
			} else {
				key = unquoteSlow(key)
			}
			if k := claimOf(key); k != claimOther {
				c[k] = s.s[vstart:s.i]
			}
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return nil
		default:
			return errSyntax
		}
	}
}

// value scans one value inside a container at depth.
func (s *jsonScanner) value(depth int) error {
	switch c := s.peek(); {
	case c == '{':
		return s.object(depth+1, nil)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return errSyntax
}

func (s *jsonScanner) array(depth int) error {
	if depth > maxJSONDepth {
		return errSyntax
	}
	s.i++ // '['
	s.ws()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			return nil
		default:
			return errSyntax
		}
	}
}

func (s *jsonScanner) literal(lit string) error {
	if !strings.HasPrefix(s.s[s.i:], lit) {
		return errSyntax
	}
	s.i += len(lit)
	return nil
}

// str scans the string at s.i. simple reports that it has no escapes and
// is valid UTF-8, so that its text between the quotes is its value.
func (s *jsonScanner) str() (simple bool, err error) {
	start := s.i
	s.i++ // '"'
	simple, ascii := true, true
	for s.i < len(s.s) {
		c := s.s[s.i]
		switch {
		case c == '"':
			s.i++
			if !ascii && simple {
				simple = utf8.ValidString(s.s[start+1 : s.i-1])
			}
			return simple, nil
		case c < 0x20:
			return false, errSyntax
		case c == '\\':
			simple = false
			s.i++
			if s.i >= len(s.s) {
				return false, errSyntax
			}
			switch s.s[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+5 > len(s.s) {
					return false, errSyntax
				}
				for j := s.i + 1; j < s.i+5; j++ {
					if h := s.s[j]; !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false, errSyntax
					}
				}
				s.i += 5
			default:
				return false, errSyntax
			}
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			s.i++
		}
	}
	return false, errSyntax
}

// number scans a number (RFC 8259 §6) and, as encoding/json does when it
// decodes into an interface, refuses one beyond the range of a float64.
func (s *jsonScanner) number() error {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return errSyntax
	}
	if s.peek() == '.' {
		s.i++
		if s.digits() == 0 {
			return errSyntax
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if s.digits() == 0 {
			return errSyntax
		}
	}
	if _, err := strconv.ParseFloat(s.s[start:s.i], 64); err != nil {
		return errSyntax
	}
	return nil
}

func (s *jsonScanner) digits() int {
	n := 0
	for s.i < len(s.s) && '0' <= s.s[s.i] && s.s[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// unquoteSlow decodes a scanned string with escapes or invalid UTF-8
// exactly as encoding/json does (surrogate pairs, U+FFFD for the rest).
func unquoteSlow(quoted string) string {
	var v string
	if err := json.Unmarshal([]byte(quoted), &v); err != nil {
		return "" // unreachable: the scanner has accepted it
	}
	return v
}

// str decodes a claim that must be a string; null or absent is "".
func (r *claimReader) str(raw string) string {
	switch {
	case raw == "" || raw == "null":
		return ""
	case raw[0] == '"':
		return unquote(raw)
	}
	r.err = errClaimType
	return ""
}

// unquote decodes a string value the scanner accepted.
func unquote(raw string) string {
	body := raw[1 : len(raw)-1]
	if strings.IndexByte(body, '\\') < 0 && utf8.ValidString(body) {
		return body
	}
	return unquoteSlow(raw)
}

// looseStr is a claim's value when it is a string, else "": for claims
// the guard reads only as an alternative to another.
func looseStr(raw string) string {
	if raw != "" && raw[0] == '"' {
		return unquote(raw)
	}
	return ""
}

// appendStrings appends a claim that is a string or an array of strings,
// as aud may be either (RFC 7519 §4.1.3), to dst.
func (r *claimReader) appendStrings(dst []string, raw string) []string {
	switch {
	case raw == "" || raw == "null":
		return dst
	case raw[0] == '"':
		return append(dst, unquote(raw))
	case raw[0] != '[':
		r.err = errClaimType
		return dst
	}
	s := jsonScanner{s: raw, i: 1}
	for {
		s.ws()
		switch s.peek() {
		case ']':
			return dst
		case ',':
			s.i++
			s.ws()
		}
		if s.peek() != '"' {
			r.err = errClaimType // a number, null, object... in the array
			return dst
		}
		start := s.i
		if _, err := s.str(); err != nil {
			r.err = errClaimType // unreachable: scanned before
			return dst
		}
		dst = append(dst, unquote(s.s[start:s.i]))
	}
}

// date decodes a NumericDate (RFC 7519 §2): seconds since the epoch,
// possibly fractional.
func (r *claimReader) date(raw string) time.Time {
	if raw == "" || raw == "null" {
		return time.Time{}
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		r.err = errClaimType
		return time.Time{}
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e12 {
		r.err = errClaimType
		return time.Time{}
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// claimReader decodes typed claims and remembers the first type error.
type claimReader struct{ err error }

// memberValue returns the raw text of the last value of the member called
// name in the JSON object payload, which scanPayload has accepted.
func memberValue(payload, name string) (string, bool) {
	s := jsonScanner{s: payload}
	s.ws()
	if s.peek() != '{' {
		return "", false
	}
	s.i++
	var value string
	found := false
	for {
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
			s.ws()
		case '"':
		default: // '}', or the end of text that is not an object
			return value, found
		}
		if s.peek() != '"' {
			return value, found
		}
		start := s.i
		simple, err := s.str()
		if err != nil {
			return "", false
		}
		key := s.s[start:s.i]
		if simple {
			key = key[1 : len(key)-1]
		} else {
			key = unquoteSlow(key)
		}
		s.ws()
		if s.peek() != ':' {
			return "", false
		}
		s.i++
		s.ws()
		vstart := s.i
		if err := s.value(1); err != nil {
			return "", false
		}
		if key == name {
			value, found = s.s[vstart:s.i], true
		}
	}
}
