package token

import (
	"strconv"
	"unicode/utf8"
)

// appendJSON appends the claims as a JSON object (RFC 7519 §7.1 step 2),
// byte for byte what encoding/json writes for AccessClaims: same member
// order, same omitempty rules, same string escaping (HTML-safe, U+2028 and
// U+2029 escaped, invalid UTF-8 replaced by U+FFFD).
//
// Why by hand: encoding/json walks the struct by reflection on every
// token, and on the client-credentials path that was the largest cost
// after the signature and the allocator. The fuzz test
// FuzzAccessClaimsJSON holds this function to encoding/json's output, so
// the two cannot drift; a field added to AccessClaims must be added here
// (TestAccessClaimsJSONCoversEveryField fails until it is).
func (c *AccessClaims) appendJSON(b []byte) []byte {
	b = append(b, `{"aud":`...)
	b = appendJSONString(b, c.Audience)
	b = append(b, `,"iss":`...)
	b = appendJSONString(b, c.Issuer)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt, 10)
	b = append(b, `,"nbf":`...)
	b = strconv.AppendInt(b, c.NotBefore, 10)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Expiry, 10)
	b = appendOptional(b, `,"azp":`, c.AuthorizedParty)
	b = appendOptional(b, `,"azpacr":`, c.AuthorizedPartyACR)
	b = appendOptional(b, `,"appid":`, c.AppID)
	b = appendOptional(b, `,"appidacr":`, c.AppIDACR)
	b = appendOptional(b, `,"idp":`, c.IDP)
	b = appendOptional(b, `,"idtyp":`, c.IDType)
	b = append(b, `,"oid":`...)
	b = appendJSONString(b, c.ObjectID)
	if len(c.Roles) > 0 {
		b = append(b, `,"roles":[`...)
		for i, r := range c.Roles {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, r)
		}
		b = append(b, ']')
	}
	b = appendOptional(b, `,"scp":`, c.Scope)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, c.Subject)
	b = append(b, `,"tid":`...)
	b = appendJSONString(b, c.TenantID)
	b = append(b, `,"uti":`...)
	b = appendJSONString(b, c.UTI)
	b = append(b, `,"jti":`...)
	b = appendJSONString(b, c.JTI)
	b = append(b, `,"ver":`...)
	b = appendJSONString(b, c.Version)
	return append(b, '}')
}

// appendOptional writes an omitempty string member.
func appendOptional(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, name...)
	return appendJSONString(b, v)
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks the ASCII bytes written as they are: printable, and not
// ", \, <, > or & (escaped as encoding/json does, so a token's payload can
// never close a <script> it is embedded in).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		switch b {
		case '"', '\\', '<', '>', '&':
		default:
			t[b] = true
		}
	}
	return t
}()

// appendJSONString appends s as a JSON string (RFC 8259 §7) the way
// encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but line terminators in JavaScript.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
