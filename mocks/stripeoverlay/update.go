package stripeoverlay

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// renderLocked makes obj (a stripe-mock fixture of the object) show the object's state:
// the fields and metadata updates set, and the version stamped in metadata. st may be
// nil (an object never changed, version 1). It returns the version. The caller holds
// Overlay.mu.
func renderLocked(obj map[string]any, st *objState) int64 {
	version := int64(1)
	md := map[string]any{}
	if st != nil {
		version = st.version()
		for k, v := range st.fields {
			obj[k] = v
		}
	}
	if st != nil && st.metadata != nil {
		for k, v := range st.metadata {
			md[k] = v
		}
	} else if m, ok := obj["metadata"].(map[string]any); ok {
		for k, v := range m {
			md[k] = v
		}
	}
	md[VersionMetadataKey] = strconv.FormatInt(version, 10)
	obj["metadata"] = md
	return version
}

// fixtureMetadata is a fixture's metadata as strings, without a version stamp.
func fixtureMetadata(obj map[string]any) map[string]string {
	out := map[string]string{}
	m, _ := obj["metadata"].(map[string]any)
	for k, v := range m {
		if k == VersionMetadataKey {
			continue
		}
		if s, ok := v.(string); ok {
			out[k] = s
		} else {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// updateParams are the parts of an update's form the overlay remembers.
type updateParams struct {
	clearMetadata bool              // metadata="" unsets every key
	metadata      map[string]string // metadata[k]=v; "" unsets k
	fields        []string          // other top-level parameters (address[city] → address)
	expand        url.Values        // expand[] parameters, for the answer
}

func parseUpdate(form url.Values) updateParams {
	p := updateParams{metadata: map[string]string{}, expand: url.Values{}}
	seen := map[string]bool{}
	for k, vs := range form {
		v := ""
		if len(vs) > 0 {
			v = vs[len(vs)-1]
		}
		top, _, _ := strings.Cut(k, "[")
		switch {
		case k == "metadata":
			p.clearMetadata = v == ""
		case top == "metadata":
			if mk, ok := strings.CutSuffix(strings.TrimPrefix(k, "metadata["), "]"); ok && mk != "" && !strings.ContainsAny(mk, "[]") {
				p.metadata[mk] = v
			}
		case top == "expand":
			p.expand[k] = vs
		case !seen[top]:
			seen[top] = true
			p.fields = append(p.fields, top)
		}
	}
	return p
}

// Stripe's limits on metadata (https://docs.stripe.com/metadata): 50 keys, keys of up
// to 40 characters without square brackets, values of up to 500 characters. stripe-mock
// does not check them, so the overlay does.
const (
	maxMetadataKeys     = 50
	maxMetadataKeyLen   = 40
	maxMetadataValueLen = 500
)

// metadataProblem says what is wrong with the update's metadata, if anything.
func (p updateParams) metadataProblem() string {
	for k, v := range p.metadata {
		switch {
		case len([]rune(k)) > maxMetadataKeyLen:
			return fmt.Sprintf("Metadata keys can be at most %d characters long; %q is %d.", maxMetadataKeyLen, k, len([]rune(k)))
		case len([]rune(v)) > maxMetadataValueLen:
			return fmt.Sprintf("Metadata values can be at most %d characters long; the value of %q is %d.", maxMetadataValueLen, k, len([]rune(v)))
		}
	}
	return ""
}

// invalidParam is a 400 invalid_request_error about param, as stripe-mock would answer.
func invalidParam(param, msg string) *upstreamResp {
	body, _ := encodeJSON(map[string]any{"error": stripeError{Message: msg, Param: param, Type: "invalid_request_error"}})
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &upstreamResp{status: http.StatusBadRequest, header: h, body: body}
}

// ownHeader is the header of the overlay's own upstream calls.
func (o *Overlay) ownHeader() http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+o.cfg.APIKey)
	return h
}

// readHeader keeps the parts of a request's header that a GET of the object needs.
func readHeader(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"Authorization", "Stripe-Version", "Stripe-Account", "User-Agent"} {
		if v := h.Values(k); len(v) > 0 {
			out[k] = append([]string(nil), v...)
		}
	}
	return out
}

func (o *Overlay) objectURL(key objKey) string {
	return "/v1/" + key.kind.plural + "/" + url.PathEscape(key.id)
}

// fetchBase GETs the object's fixture from stripe-mock, with query appended. A refusal
// from stripe-mock comes back as bad, to pass through.
func (o *Overlay) fetchBase(ctx context.Context, key objKey, query url.Values, header http.Header) (obj map[string]any, bad *upstreamResp, err error) {
	p := o.objectURL(key)
	if len(query) > 0 {
		p += "?" + query.Encode()
	}
	u, err := o.call(ctx, http.MethodGet, p, readHeader(header), nil)
	if err != nil {
		return nil, nil, err
	}
	if !u.ok() {
		return nil, u, nil
	}
	obj, err = decodeObject(u.body)
	if err != nil {
		return nil, nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return obj, nil, nil
}

// applyUpdate carries out POST /v1/<plural>/<id> with form (whose encoding is body):
// stripe-mock validates it (and echoes the simple fields it sets, typed), then the
// object's state takes the new metadata (merged; an empty value deletes a key; the
// version key is the overlay's and cannot be set) and fields, its version goes up by
// one, and an <object>.updated event goes out. An update that changes nothing makes no
// version and no event, as at Stripe.
func (o *Overlay) applyUpdate(ctx context.Context, key objKey, form url.Values, body []byte, header http.Header, req eventRequest) (outcome, error) {
	st := o.state(key, true)
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if gone, v := o.gone(st); gone {
		return outcome{missing: true, version: v}, nil
	}

	p := parseUpdate(form)
	if msg := p.metadataProblem(); msg != "" {
		return outcome{pass: invalidParam("metadata", msg)}, nil
	}
	h := header.Clone()
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	post, err := o.call(ctx, http.MethodPost, o.objectURL(key), h, body)
	if err != nil {
		return outcome{}, err
	}
	var echo map[string]any
	if post.ok() {
		echo, err = decodeObject(post.body)
	}
	if !post.ok() || err != nil {
		return outcome{pass: post}, nil
	}

	base, bad, err := o.fetchBase(ctx, key, nil, header)
	if err != nil || bad != nil {
		return outcome{pass: bad}, err
	}
	answer := base
	if len(p.expand) > 0 {
		if answer, bad, err = o.fetchBase(ctx, key, p.expand, header); err != nil || bad != nil {
			return outcome{pass: bad}, err
		}
	}

	o.mu.Lock()
	prev := map[string]any{}
	newFields := map[string]any{}
	for _, f := range p.fields {
		nv, ok := echo[f]
		if !ok {
			continue // not an attribute of the object (proration_behavior, ...)
		}
		if s, ok := nv.(string); ok && s == "" && form.Get(f) == "" {
			nv = nil // Stripe unsets a field given ""
		}
		ov, had := st.fields[f]
		if !had {
			ov = base[f]
		}
		if !reflect.DeepEqual(ov, nv) {
			prev[f] = ov
			newFields[f] = nv
		}
	}
	oldMeta := st.metadata
	if oldMeta == nil {
		oldMeta = fixtureMetadata(base)
	}
	newMeta := map[string]string{}
	if !p.clearMetadata {
		maps.Copy(newMeta, oldMeta)
	}
	for k, v := range p.metadata {
		switch {
		case k == VersionMetadataKey:
		case v == "":
			delete(newMeta, k)
		default:
			newMeta[k] = v
		}
	}
	if len(newMeta) > maxMetadataKeys {
		o.mu.Unlock()
		return outcome{pass: invalidParam("metadata", fmt.Sprintf("Metadata can have at most %d keys; this update would leave %d.", maxMetadataKeys, len(newMeta)))}, nil
	}
	prevMeta := map[string]any{}
	for k, ov := range oldMeta {
		if nv, ok := newMeta[k]; !ok || nv != ov {
			prevMeta[k] = ov
		}
	}
	for k := range newMeta {
		if _, ok := oldMeta[k]; !ok {
			prevMeta[k] = nil
		}
	}
	if len(prevMeta) > 0 {
		prev["metadata"] = prevMeta
	}
	if len(prev) == 0 {
		v := renderLocked(answer, st)
		o.mu.Unlock()
		return outcome{status: post.status, header: post.header, obj: answer, version: v}, nil
	}

	if st.fields == nil {
		st.fields = map[string]any{}
	}
	maps.Copy(st.fields, newFields)
	st.metadata = newMeta
	now := o.now()
	version := st.version() + 1
	st.history = append(st.history, Change{Version: version, At: now})
	renderLocked(answer, st)
	evObj := answer
	if len(p.expand) > 0 {
		evObj = base
		renderLocked(evObj, st)
	}
	o.mu.Unlock()
	o.stats.updates.Add(1)

	o.emit(key.kind.event+".updated", evObj, prev, now, req)
	return outcome{status: post.status, header: post.header, obj: answer, version: version}, nil
}

// applyDelete carries out DELETE /v1/<plural>/<id>: stripe-mock validates it, then the
// object is gone (customers answer GETs with Stripe's deleted stub, other kinds 404) or,
// for a subscription, canceled; the version goes up by one and an <object>.deleted
// event carries the object as it was (canceled, for a subscription), stamped with the
// new version.
func (o *Overlay) applyDelete(ctx context.Context, key objKey, rawQuery string, body []byte, header http.Header, req eventRequest) (outcome, error) {
	st := o.state(key, true)
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if gone, v := o.gone(st); gone {
		return outcome{missing: true, version: v}, nil
	}

	p := o.objectURL(key)
	if rawQuery != "" {
		p += "?" + rawQuery
	}
	del, err := o.call(ctx, http.MethodDelete, p, header, body)
	if err != nil {
		return outcome{}, err
	}
	if !del.ok() {
		return outcome{pass: del}, nil
	}
	base, bad, err := o.fetchBase(ctx, key, nil, header)
	if err != nil || bad != nil {
		return outcome{pass: bad}, err
	}

	o.mu.Lock()
	now := o.now()
	version := st.version() + 1
	if key.kind.del == deleteCancel {
		if st.fields == nil {
			st.fields = map[string]any{}
		}
		st.fields["status"] = "canceled"
		st.fields["canceled_at"] = now.Unix()
		st.fields["ended_at"] = now.Unix()
		st.fields["cancel_at_period_end"] = false
		st.fields["cancel_at"] = nil
	} else {
		st.gone = true
	}
	st.history = append(st.history, Change{Version: version, At: now, Deleted: st.gone})
	renderLocked(base, st)
	o.mu.Unlock()
	o.stats.deletes.Add(1)

	o.emit(key.kind.event+".deleted", base, nil, now, req)
	if key.kind.del == deleteCancel {
		return outcome{status: del.status, header: del.header, obj: base, version: version}, nil
	}
	stub, err := decodeObject(del.body)
	if err != nil {
		stub = map[string]any{"id": key.id, "object": key.kind.name, "deleted": true}
	}
	return outcome{status: del.status, header: del.header, obj: stub, version: version}, nil
}

func (o *Overlay) gone(st *objState) (bool, int64) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return st.gone, st.version()
}

// Update sets metadata on the object objectType/id ("customer", "cus_123") as
// POST /v1/<plural>/<id> with metadata[k]=v would (an empty value deletes the key), and
// returns the object's version after it. It is the harness's hand: it skips the rate
// limiter and injected faults, but stripe-mock still validates it, and it emits the
// <object>.updated event like any update. Metadata equal to the current makes no new
// version and no event.
func (o *Overlay) Update(ctx context.Context, objectType, id string, metadata map[string]string) (int64, error) {
	kind := kindByName(objectType)
	if kind == nil {
		return 0, fmt.Errorf("stripeoverlay: update: unknown object type %q: want one of %s", objectType, strings.Join(ObjectTypes(), ", "))
	}
	key := objKey{kind, id}
	if id == "" || strings.ContainsAny(id, "/?#") {
		return 0, fmt.Errorf("stripeoverlay: update %s: bad ID %q", objectType, id)
	}
	form := url.Values{}
	for k, v := range metadata {
		form.Set("metadata["+k+"]", v)
	}
	body := []byte(form.Encode())
	out, err := o.applyUpdate(ctx, key, form, body, o.ownHeader(), eventRequest{})
	return o.ownResult("update", key, out, err)
}

// Delete deletes the object objectType/id as DELETE /v1/<plural>/<id> would (for a
// subscription: cancels it) and returns the object's version after it. Like Update it
// skips the rate limiter and injected faults. Object types Stripe cannot delete
// (prices, charges) are an error.
func (o *Overlay) Delete(ctx context.Context, objectType, id string) (int64, error) {
	kind := kindByName(objectType)
	if kind == nil {
		return 0, fmt.Errorf("stripeoverlay: delete: unknown object type %q: want one of %s", objectType, strings.Join(ObjectTypes(), ", "))
	}
	if kind.del == deleteNone {
		return 0, fmt.Errorf("stripeoverlay: delete %s %q: Stripe has no DELETE for %ss", objectType, id, objectType)
	}
	if id == "" || strings.ContainsAny(id, "/?#") {
		return 0, fmt.Errorf("stripeoverlay: delete %s: bad ID %q", objectType, id)
	}
	key := objKey{kind, id}
	out, err := o.applyDelete(ctx, key, "", nil, o.ownHeader(), eventRequest{})
	return o.ownResult("delete", key, out, err)
}

func (o *Overlay) ownResult(op string, key objKey, out outcome, err error) (int64, error) {
	switch {
	case err != nil:
		return 0, fmt.Errorf("stripeoverlay: %s %s: %w", op, key, err)
	case out.missing:
		return out.version, fmt.Errorf("stripeoverlay: %s %s: %w", op, key, ErrDeleted)
	case out.pass != nil:
		msg := string(out.pass.body)
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return 0, fmt.Errorf("stripeoverlay: %s %s: stripe-mock answered HTTP %d: %s", op, key, out.pass.status, msg)
	}
	return out.version, nil
}
