package clients

import (
	"slices"
	"strconv"
	"strings"
	"unicode"

	"crm/platform/errs"

	"golang.org/x/text/language"
)

// Limits of the contract, in characters.
const (
	maxName  = 150
	maxPhone = 50
	maxNotes = 10000
)

func validStatus(s string) bool { return slices.Contains(Statuses, s) }

// withdrawn are ISO 3166-1 codes deleted from the standard that CLDR (and so
// golang.org/x/text) still lists as regions, because no single code
// replaced them.
var withdrawn = map[string]bool{"AN": true, "CS": true, "NT": true, "SU": true, "YU": true}

// validCountry tells whether s is an officially assigned ISO 3166-1 alpha-2
// code, in upper case (callers upper-case what users send): a country of the CLDR region data (golang.org/x/text)
// with a UN M.49 number, neither private-use, reserved nor deprecated.
func validCountry(s string) bool {
	if len(s) != 2 || !isUpper(s) {
		return false
	}
	r, err := language.ParseRegion(s)
	return err == nil && r.String() == s && r.IsCountry() && !r.IsPrivateUse() &&
		r.M49() != 0 && r.Canonicalize() == r && !withdrawn[s]
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// maxSearchTerms bounds the terms of one search.
const maxSearchTerms = 10

// searchTerms splits a search as the seed's DRF SearchFilter does: on white
// space and commas; every term must match (first name, last name or email).
func searchTerms(s string) ([]string, error) {
	for _, r := range s {
		if unicode.IsControl(r) {
			return nil, errs.Invalid("search", "The search may not contain control characters.")
		}
	}
	terms := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	if len(terms) > maxSearchTerms {
		return nil, errs.Invalid("search", "Use at most "+strconv.Itoa(maxSearchTerms)+" search terms.")
	}
	return terms, nil
}
