package stripe

import (
	"encoding/json"
	"strings"
)

// The few fields of Stripe objects this module reads. Minimal structs, not
// stripe-go's full ones, so events rendered in any Stripe API version decode
// (a field whose shape changed between versions is simply not read).

// ref is an expandable reference: an id string, or the object with its id.
type ref string

// UnmarshalJSON accepts "id", {"id": ...} or null.
func (r *ref) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*r = ""
		return nil
	}
	if strings.HasPrefix(s, "{") {
		var obj struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		*r = ref(obj.ID)
		return nil
	}
	var id string
	if err := json.Unmarshal(b, &id); err != nil {
		return err
	}
	*r = ref(id)
	return nil
}

type customerObject struct {
	ID       string            `json:"id"`
	Email    string            `json:"email"`
	Deleted  bool              `json:"deleted"`
	Metadata map[string]string `json:"metadata"`
}

type paymentIntentObject struct {
	ID             string            `json:"id"`
	Amount         int64             `json:"amount"`
	AmountReceived int64             `json:"amount_received"`
	Currency       string            `json:"currency"`
	Customer       ref               `json:"customer"`
	Created        int64             `json:"created"`
	Metadata       map[string]string `json:"metadata"`
}

type chargeObject struct {
	ID             string            `json:"id"`
	Amount         int64             `json:"amount"`
	AmountRefunded int64             `json:"amount_refunded"`
	Refunded       bool              `json:"refunded"`
	Currency       string            `json:"currency"`
	Customer       ref               `json:"customer"`
	PaymentIntent  ref               `json:"payment_intent"`
	Created        int64             `json:"created"`
	Metadata       map[string]string `json:"metadata"`
}

type disputeObject struct {
	ID            string            `json:"id"`
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	Charge        ref               `json:"charge"`
	PaymentIntent ref               `json:"payment_intent"`
	Created       int64             `json:"created"`
	Metadata      map[string]string `json:"metadata"`
}

type invoiceObject struct {
	ID         string            `json:"id"`
	AmountPaid int64             `json:"amount_paid"`
	Currency   string            `json:"currency"`
	Customer   ref               `json:"customer"`
	Metadata   map[string]string `json:"metadata"`
}
