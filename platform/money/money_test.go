package money_test

import (
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"crm/platform/db"
	"crm/platform/dbtest"
	"crm/platform/money"
)

func TestParse(t *testing.T) {
	ok := map[string]money.Amount{
		"0": 0, "0.1": 10, "0.10": 10, "0.01": 1, "12": 1200, "12.5": 1250, "999.99": 99999,
		"007.50": 750, " 3.20 ": 320, "999999999999.99": 99999999999999, "000000000000001": 100,
	}
	for in, want := range ok {
		got, err := money.Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                 "valid number",
		"abc":              "valid number",
		"1.234":            "2 decimal places",
		"1.000":            "2 decimal places",
		"-1":               "greater than or equal to 0",
		"-0.01":            "greater than or equal to 0",
		"1e3":              "exponent",
		"1.5E+2":           "exponent",
		"NaN":              "valid number",
		"Infinity":         "valid number",
		"1000000000000":    "less than 1000000000000",
		"1000000000000.00": "less than 1000000000000",
		".5":               "valid number",
		"5.":               "valid number",
		"+5":               "valid number",
		"1,5":              "valid number",
		"0x10":             "valid number",
		"1 000":            "valid number",
	}
	for in, want := range bad {
		_, err := money.Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v; want one containing %q", in, err, want)
		}
	}
}

func TestJSON(t *testing.T) {
	var body struct {
		A money.Amount `json:"a"`
		B money.Amount `json:"b"`
	}
	if err := json.Unmarshal([]byte(`{"a": 0.10, "b": "0.20"}`), &body); err != nil {
		t.Fatal(err)
	}
	if sum := body.A + body.B; sum.String() != "0.30" {
		t.Fatalf("0.10 + 0.20 = %s", sum)
	}
	out, _ := json.Marshal(body)
	if string(out) != `{"a":"0.10","b":"0.20"}` {
		t.Fatalf("marshal = %s", out)
	}
	for raw, want := range map[string]string{
		`1.001`: "2 decimal places", `-5`: "greater than", `1e2`: "exponent", `true`: "valid number",
		`{}`: "valid number", `[1]`: "valid number", `null`: "may not be null", `"1.5e2"`: "exponent",
		`1000000000000`: "less than",
	} {
		var a money.Amount
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			t.Fatalf("UnmarshalJSON(%s) failed: %v", raw, err)
		}
		if err := a.Err(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Err() = %v, want %q", raw, err, want)
		}
		if _, err := a.Value(); err == nil {
			t.Errorf("%s: a refused amount must not be storable", raw)
		}
	}
}

func TestScan(t *testing.T) {
	var a money.Amount
	for src, want := range map[any]money.Amount{int64(5): 5, "123": 123, "99999999999999.000": 99999999999999} {
		if err := a.Scan(src); err != nil || a != want {
			t.Errorf("Scan(%v) = %d, %v", src, a, err)
		}
	}
	if err := a.Scan([]byte("77")); err != nil || a != 77 {
		t.Errorf("Scan([]byte) = %d, %v", a, err)
	}
	for _, src := range []any{1.5, nil, "1.5", "x"} {
		if err := a.Scan(src); err == nil {
			t.Errorf("Scan(%v) accepted", src)
		}
	}
}

// TestDatabaseRoundTrip stores the largest amount and sums on the test
// database (SQLite, or PostgreSQL with CRM_TEST_POSTGRES_URL).
func TestDatabaseRoundTrip(t *testing.T) {
	d, err := db.Open(dbtest.URL(t), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.ExecContext(ctx, "CREATE TABLE amounts (cents BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	max, _ := money.Parse("999999999999.99")
	for _, a := range []money.Amount{max, 10, 20} {
		if _, err := d.NewRaw("INSERT INTO amounts (cents) VALUES (?)", a).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var got money.Amount
	if err := d.NewSelect().Table("amounts").Column("cents").Where("cents = ?", max).Scan(ctx, &got); err != nil || got != max || got.String() != "999999999999.99" {
		t.Fatalf("round trip = %s, %v", got, err)
	}
	var sum money.Amount
	if err := d.NewSelect().Table("amounts").ColumnExpr("COALESCE(SUM(cents), 0)").Where("cents < 100").Scan(ctx, &sum); err != nil || sum.String() != "0.30" {
		t.Fatalf("sum = %s, %v", sum, err)
	}
	if err := d.NewSelect().Table("amounts").ColumnExpr("COALESCE(SUM(cents), 0)").Scan(ctx, &sum); err != nil || sum.String() != "1000000000000.29" {
		t.Fatalf("sum = %s, %v", sum, err)
	}
}

// FuzzParse: the parser never panics, accepts only what it can write back
// exactly, and agrees with exact rational arithmetic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "0.10", "999999999999.99", "1.234", "-1", "1e3", "NaN", `"5.5"`, "007.50", " 1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := money.Parse(s)
		if err == nil {
			if a < 0 || a >= money.Limit {
				t.Fatalf("Parse(%q) = %d out of range", s, a)
			}
			back, err := money.Parse(a.String())
			if err != nil || back != a {
				t.Fatalf("Parse(%q).String() = %q does not parse back: %d, %v", s, a.String(), back, err)
			}
			r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
			if !ok || r.Cmp(big.NewRat(a.Cents(), 100)) != 0 {
				t.Fatalf("Parse(%q) = %s disagrees with exact arithmetic (%v)", s, a, r)
			}
		}
		j, err := money.ParseJSON([]byte(s))
		if err == nil && (j < 0 || j >= money.Limit) {
			t.Fatalf("ParseJSON(%q) = %d out of range", s, j)
		}
		var u money.Amount
		_ = u.UnmarshalJSON([]byte(s))
		if (u.Err() == nil) != (err == nil) || (err == nil && u != j) {
			t.Fatalf("UnmarshalJSON(%q) = %d disagrees with ParseJSON = %d, %v", s, u, j, err)
		}
	})
}

func TestParseCurrency(t *testing.T) {
	for in, want := range map[string]string{"USD": "USD", "eur": "EUR", " gbp ": "GBP", "JPY": "JPY"} {
		if got, ok := money.ParseCurrency(in); !ok || got != want {
			t.Errorf("ParseCurrency(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "US", "USDX", "ABC", "XXX", "XTS", "U$D", "123"} {
		if got, ok := money.ParseCurrency(in); ok {
			t.Errorf("ParseCurrency(%q) = %q accepted", in, got)
		}
	}
}
