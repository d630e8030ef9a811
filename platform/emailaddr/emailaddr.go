// Package emailaddr is the one rule for email addresses, shared by every
// module that stores one (employees, clients, Stripe customers): trimmed
// and lower-cased (login and uniqueness are case-insensitive), and one plain
// address with a dotted domain.
package emailaddr

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest address accepted, in characters (RFC 5321's path
// limit less the brackets).
const MaxLen = 254

// Normalize trims and lower-cases an address.
func Normalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Valid tells whether a normalized, non-empty address is one plain address
// (no display name, no comment, no group) whose domain has a dot.
func Valid(e string) bool {
	a, err := mail.ParseAddress(e)
	return err == nil && a.Address == e && strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".")
}

// Problem is what is wrong with a normalized, non-empty address, in the
// API's words (DRF's EmailField), or "" when nothing is: longer than MaxLen
// characters, or not one plain address. Every module checks an address
// with it; what an empty one means is the caller's.
func Problem(e string) string {
	switch {
	case utf8.RuneCountInString(e) > MaxLen:
		return "Ensure this field has no more than 254 characters."
	case !Valid(e):
		return "Enter a valid email address."
	}
	return ""
}
