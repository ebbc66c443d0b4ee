package bus

import (
	"errors"
	"fmt"
	"strings"
)

// escapeChar introduces a two-digit upper-case hex escape, as in RFC 3986 percent-encoding.
const escapeChar = '%'

const upperHex = "0123456789ABCDEF"

// ErrEmptyToken is returned when an empty string would become a subject token: NATS has no empty
// tokens, and no cluster is named "".
var ErrEmptyToken = errors.New("bus: empty subject token")

// mustEscapeByte reports whether b cannot appear literally in an escaped token. Everything
// outside printable ASCII is escaped (whitespace and control bytes break the NATS protocol, and
// keeping tokens ASCII keeps them readable in every tool), as are the token separator, both
// wildcards and the escape character itself.
func mustEscapeByte(b byte) bool {
	if b <= ' ' || b >= 0x7f {
		return true
	}
	switch b {
	case '.', '*', '>', escapeChar:
		return true
	}
	return false
}

// EscapeToken maps any non-empty string to exactly one valid literal NATS subject token:
// every byte that mustEscapeByte selects becomes "%XX" (upper-case hex), every other byte is
// kept. Kubernetes names are unchanged unless they contain dots ("a.b" becomes "a%2Eb").
// The mapping is injective and UnescapeToken reverses it. EscapeToken("") returns "", which
// is not a valid token; callers reject empty names first.
func EscapeToken(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if mustEscapeByte(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !mustEscapeByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(escapeChar)
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0x0f])
	}
	return b.String()
}

// UnescapeToken reverses EscapeToken. It accepts only the canonical form EscapeToken produces
// (upper-case hex, no escapes of bytes that need none, no raw bytes that need one), so every
// name has exactly one subject and a subscriber never misses a publisher that spelled it
// differently.
func UnescapeToken(token string) (string, error) {
	if token == "" {
		return "", ErrEmptyToken
	}
	if strings.IndexByte(token, escapeChar) < 0 {
		if err := checkRawBytes(token); err != nil {
			return "", err
		}
		return token, nil
	}
	var b strings.Builder
	b.Grow(len(token))
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c != escapeChar {
			if mustEscapeByte(c) {
				return "", fmt.Errorf("bus: token %q: byte %#x must be escaped", token, c)
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(token) {
			return "", fmt.Errorf("bus: token %q: truncated escape at offset %d", token, i)
		}
		hi, lo := unhex(token[i+1]), unhex(token[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("bus: token %q: bad escape at offset %d", token, i)
		}
		decoded := byte(hi<<4 | lo)
		if !mustEscapeByte(decoded) {
			return "", fmt.Errorf("bus: token %q: byte %#x must not be escaped", token, decoded)
		}
		b.WriteByte(decoded)
		i += 2
	}
	return b.String(), nil
}

func checkRawBytes(token string) error {
	for i := 0; i < len(token); i++ {
		if mustEscapeByte(token[i]) {
			return fmt.Errorf("bus: token %q: byte %#x must be escaped", token, token[i])
		}
	}
	return nil
}

// unhex decodes one upper-case hex digit, or returns -1.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
