package stripeoverlay

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Messages of the errors the overlay answers itself, in Stripe's words.
const (
	rateLimitMessage = "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."
	apiErrorMessage  = "An unknown error occurred (injected by the cachebench Stripe overlay)."
)

// stripeError is the body of a Stripe API error: {"error": {...}}.
type stripeError struct {
	Code    string `json:"code,omitempty"`
	DocURL  string `json:"doc_url,omitempty"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	Type    string `json:"type"`
}

func writeStripeError(w http.ResponseWriter, status int, e stripeError) {
	body, _ := json.Marshal(struct {
		Error stripeError `json:"error"`
	}{e})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeRateLimited answers as Stripe's rate limiter does: 429, an invalid_request_error
// with code rate_limit (stripe-go decodes it as a *stripe.Error with HTTPStatusCode 429
// and Code stripe.ErrorCodeRateLimit).
func (o *Overlay) writeRateLimited(w http.ResponseWriter) {
	if o.cfg.RateLimitShouldRetry != "" {
		w.Header().Set("Stripe-Should-Retry", o.cfg.RateLimitShouldRetry)
	}
	writeStripeError(w, http.StatusTooManyRequests, stripeError{
		Code:    "rate_limit",
		DocURL:  "https://stripe.com/docs/error-codes/rate-limit",
		Message: rateLimitMessage,
		Type:    "invalid_request_error",
	})
}

// writeAPIError answers a 500 api_error, Stripe's answer to a failure on its side.
func writeAPIError(w http.ResponseWriter, status int, msg string) {
	writeStripeError(w, status, stripeError{Message: msg, Type: "api_error"})
}

// writeMissing answers 404 resource_missing for an object that does not exist (any
// more): "No such customer: 'cus_123'".
func writeMissing(w http.ResponseWriter, kind *objectKind, id string) {
	writeStripeError(w, http.StatusNotFound, stripeError{
		Code:    "resource_missing",
		DocURL:  "https://stripe.com/docs/error-codes/resource-missing",
		Message: fmt.Sprintf("No such %s: '%s'", kind.name, id),
		Param:   "id",
		Type:    "invalid_request_error",
	})
}
