package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/dynkv/dynkv/client"
)

//go:embed assets
var assets embed.FS

// Product is one thing the shop sells.
type Product struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Price int    `json:"price"` // cents
	Color string `json:"color"` // the swatch standing in for a photo
}

// products returns the shop's fixed product list, in display order: a new
// slice at each call, which NewShop keeps as its catalog.
func products() []Product {
	return []Product{
		{"mug", "Dynamo mug", 1200, "#c0392b"},
		{"apple", "Vector-clock apple", 150, "#27ae60"},
		{"pear", "Sibling pear", 180, "#d4ac0d"},
		{"tee", "Quorum T-shirt", 2400, "#2e86c1"},
		{"socks", "Sloppy-quorum socks", 900, "#8e44ad"},
		{"book", "Gossip paperback", 1800, "#616a6b"},
	}
}

// Shop serves the web shop. Carts live in dynkv's bucket carts, each under
// its ID, as observed-remove sets of product IDs (ORSet); the bucket's
// default TTL expires the carts nobody changes (prepareCarts).
//
// Each browser page is a dynkv client in its own right: it keeps the cart
// it last saw (the ORSet) and that read's causal context, and a change is
// applied to what the page saw and written with the page's context. A
// page that had not seen another page's change therefore writes a
// sibling, not an overwrite; the read that follows every change (and
// every refresh) merges siblings, writes the merged cart back and tells
// the user what was merged.
type Shop struct {
	carts    *client.Bucket
	expiry   cartExpiry
	log      *slog.Logger
	page     *template.Template
	catalog  []Product // what the shop sells, in display order
	byID     map[string]Product
	newTag   func() string
	timeout  time.Duration
	handlers http.Handler
}

// NewShop returns a shop keeping carts in the cluster kv talks to, first
// giving the carts bucket the default TTL cartTTL if it can (ctx bounds
// that).
func NewShop(ctx context.Context, kv *client.Client, log *slog.Logger, cartTTL time.Duration) (*Shop, error) {
	page, err := template.ParseFS(assets, "assets/index.html")
	if err != nil {
		return nil, fmt.Errorf("parse page template: %w", err)
	}
	s := &Shop{carts: kv.Bucket(cartsBucket), log: log, page: page, catalog: products(), byID: map[string]Product{}, newTag: randomTag,
		timeout: 15 * time.Second}
	s.expiry = prepareCarts(ctx, kv, cartTTL, log)
	for _, p := range s.catalog {
		s.byID[p.ID] = p
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /api/cart", s.serveCart)
	mux.HandleFunc("POST /api/cart/{op}", s.serveChange)
	s.handlers = mux
	return s, nil
}

func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handlers.ServeHTTP(w, r) }

// randomTag is a unique tag for one add: 96 random bits.
func randomTag() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validCartID reports whether id can name a cart: 1 to 64 ASCII letters,
// digits, - or _, so that it is safe in a key, a URL and a cookie as is.
func validCartID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// cartKey is a cart's key in the carts bucket: its ID.
func cartKey(id string) string { return id }

// step is one dynkv request made for a shop request, and the node that
// coordinated it.
type step struct {
	Op   string `json:"op"`
	Node string `json:"node"`
}

// mergeView tells the page what a read's siblings held and what their
// merge holds.
type mergeView struct {
	Siblings [][]string `json:"siblings"` // product names, per sibling
	Result   []string   `json:"result"`
}

// cartView is what the page renders: the cart, the state and context to
// send with its next change, and how the request went.
type cartView struct {
	Cart    string          `json:"cart"`
	Items   []Product       `json:"items"`
	Total   string          `json:"total"`
	State   json.RawMessage `json:"state"`
	Context string          `json:"context"`
	Steps   []step          `json:"steps"`
	// Merge is set when the read returned siblings.
	Merge   *mergeView `json:"merge,omitempty"`
	Warning string     `json:"warning,omitempty"`
}

func (s *Shop) view(cart string, set *ORSet, cc client.CausalContext, steps []step) (cartView, error) {
	state, err := json.Marshal(set)
	if err != nil {
		return cartView{}, err
	}
	v := cartView{Cart: cart, Items: []Product{}, State: state, Context: cc.String(), Steps: steps}
	total := 0
	for _, p := range s.catalog { // in catalog order
		if set.Contains(p.ID) {
			v.Items = append(v.Items, p)
			total += p.Price
		}
	}
	v.Total = money(total)
	return v, nil
}

// names lists the set's products by name, in catalog order (unknown IDs,
// which only a hand-written value could hold, last).
func (s *Shop) names(set *ORSet) []string {
	out := []string{}
	for _, p := range s.catalog {
		if set.Contains(p.ID) {
			out = append(out, p.Name)
		}
	}
	for _, id := range set.Elements() {
		if _, ok := s.byID[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

func money(cents int) string { return fmt.Sprintf("$%d.%02d", cents/100, cents%100) }

// read reads a cart; if the read returned siblings it merges them and
// writes the merge back with the read's context.
func (s *Shop) read(ctx context.Context, cart string, steps []step) (cartView, error) {
	key := cartKey(cart)
	res, err := s.carts.Get(ctx, key)
	steps = append(steps, step{"read", res.Node})
	if err != nil && !errors.Is(err, client.ErrNotFound) {
		return cartView{}, err
	}
	if len(res.Siblings) < 2 {
		set := &ORSet{}
		if len(res.Siblings) == 1 {
			if set, err = DecodeORSet(res.Siblings[0].Value); err != nil {
				return cartView{}, err
			}
		}
		return s.view(cart, set, res.Context, steps)
	}

	mv := &mergeView{}
	sets := make([]*ORSet, len(res.Siblings))
	for i, sib := range res.Siblings {
		if sets[i], err = DecodeORSet(sib.Value); err != nil {
			return cartView{}, err
		}
		mv.Siblings = append(mv.Siblings, s.names(sets[i]))
	}
	merged := MergeORSets(sets...)
	mv.Result = s.names(merged)
	value, err := json.Marshal(merged)
	if err != nil {
		return cartView{}, err
	}
	var node string
	cc, err := s.carts.Put(ctx, key, value, res.Context, client.ContentType("application/json"), client.ServedBy(&node))
	steps = append(steps, step{"write merged", node})
	if err != nil {
		// The merge is still right to show; the next change writes it.
		v, verr := s.view(cart, merged, res.Context, steps)
		v.Merge, v.Warning = mv, "the merged cart could not be written back yet: "+err.Error()
		return v, verr
	}
	s.log.Info("merged siblings", "cart", cart, "siblings", len(res.Siblings), "node", node)
	v, err := s.view(cart, merged, cc, steps)
	v.Merge = mv
	return v, err
}

func (s *Shop) servePage(w http.ResponseWriter, r *http.Request) {
	cart := r.URL.Query().Get("cart")
	if !validCartID(cart) {
		// A new visitor gets a cart of their own; share the URL to share it.
		if c, err := r.Cookie("cart"); err == nil && validCartID(c.Value) {
			cart = c.Value
		} else {
			cart = randomTag()[:10]
		}
		http.SetCookie(w, &http.Cookie{Name: "cart", Value: cart, Path: "/", MaxAge: 30 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/?cart="+cart, http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	data := struct {
		Cart     string
		Products []Product
		Prices   map[string]string
		Initial  any
		Expiry   string
	}{Cart: cart, Products: s.catalog, Prices: map[string]string{}, Expiry: s.expiry.text()}
	for _, p := range s.catalog {
		data.Prices[p.ID] = money(p.Price)
	}
	v, err := s.read(ctx, cart, nil)
	if err != nil {
		s.log.Warn("read cart", "cart", cart, "err", err)
		data.Initial = map[string]any{"cart": cart, "error": err.Error()}
	} else {
		data.Initial = map[string]any{"cart": cart, "view": v}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.page.Execute(w, data); err != nil {
		s.log.Warn("render page", "err", err)
	}
}

func (s *Shop) serveCart(w http.ResponseWriter, r *http.Request) {
	cart := r.URL.Query().Get("cart")
	if !validCartID(cart) {
		writeError(w, http.StatusBadRequest, errors.New("cart: want 1 to 64 letters, digits, - or _"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	v, err := s.read(ctx, cart, nil)
	if err != nil {
		writeStoreError(w, "read the cart", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// changeRequest is a page's add or remove: the product, and the cart and
// context the page last saw.
type changeRequest struct {
	Cart    string          `json:"cart"`
	Product string          `json:"product"`
	Context string          `json:"context"`
	State   json.RawMessage `json:"state"`
}

func (s *Shop) serveChange(w http.ResponseWriter, r *http.Request) {
	op := r.PathValue("op")
	if op != "add" && op != "remove" {
		writeError(w, http.StatusNotFound, fmt.Errorf("no operation %q: add or remove", op))
		return
	}
	var req changeRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("request body: %w", err))
		return
	}
	if !validCartID(req.Cart) {
		writeError(w, http.StatusBadRequest, errors.New("cart: want 1 to 64 letters, digits, - or _"))
		return
	}
	if _, ok := s.byID[req.Product]; !ok {
		writeError(w, http.StatusBadRequest, fmt.Errorf("no product %q", req.Product))
		return
	}
	seen, err := DecodeORSet(req.State)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	cc, err := client.ParseCausalContext(req.Context)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if op == "add" {
		seen.Add(req.Product, s.newTag())
	} else {
		seen.Remove(req.Product)
	}
	value, err := json.Marshal(seen)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	var node string
	written, err := s.carts.Put(ctx, cartKey(req.Cart), value, cc, client.ContentType("application/json"), client.ServedBy(&node))
	steps := []step{{op + " (write)", node}}
	if err != nil {
		writeStoreError(w, "save the cart", err)
		return
	}
	v, err := s.read(ctx, req.Cart, steps)
	if err != nil {
		// Saved, but not re-read: show what this page wrote.
		v, _ = s.view(req.Cart, seen, written, steps)
		v.Warning = "your change is saved, but the cart could not be re-read: " + err.Error()
	}
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// writeStoreError reports a dynkv failure: 503 when the cluster cannot
// serve, 502 otherwise.
func writeStoreError(w http.ResponseWriter, what string, err error) {
	status := http.StatusBadGateway
	if errors.Is(err, client.ErrQuorumUnavailable) || errors.Is(err, client.ErrUnavailable) || errors.Is(err, client.ErrTimeout) {
		status = http.StatusServiceUnavailable
	}
	writeError(w, status, fmt.Errorf("could not %s: %w", what, err))
}
