package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/agent-smith/agent-smith/runs"
)

//go:embed web
var webFiles embed.FS

// transcriptPage is how many of the newest entries the run page renders;
// the live stream brings the rest.
const transcriptPage = 2000

// page holds the parsed templates, one set per page.
type page struct {
	views    map[string]*template.Template
	static   http.Handler
	markdown goldmark.Markdown
}

func newPage() *page {
	funcs := template.FuncMap{
		"age":  age,
		"cost": func(usd float64) string { return fmt.Sprintf("$%.4f", usd) },
	}
	p := &page{views: map[string]*template.Template{},
		// Raw HTML in a plan is not rendered and dangerous link schemes
		// are dropped: goldmark's defaults.
		markdown: goldmark.New(goldmark.WithExtensions(extension.GFM))}
	for _, name := range []string{"login", "list", "run", "message"} {
		p.views[name] = template.Must(template.New("layout").Funcs(funcs).ParseFS(webFiles, "web/layout.html", "web/"+name+".html"))
	}
	static, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err)
	}
	p.static = http.StripPrefix("/static/", http.FileServerFS(static))
	return p
}

// age is how long ago t was, in the largest unit: "45s", "12m", "3h", "2d".
func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// render writes view with data, with the headers every page has: a
// content security policy that allows the page's own script and styles
// only, and no framing.
func (p *page) render(w http.ResponseWriter, status int, view string, data any) {
	var buf bytes.Buffer
	if err := p.views[view].ExecuteTemplate(&buf, "layout", data); err != nil {
		writeError(w, http.StatusInternalServerError, "render "+view+": "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) pageRoutes(mux *http.ServeMux) {
	mux.Handle("GET /static/", c.page.static)
	mux.HandleFunc("GET /login", c.loginForm)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		clearSession(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", c.pageAuth(false, c.listPage))
	mux.HandleFunc("GET /runs/{id}", c.pageAuth(false, c.runPage))
	mux.HandleFunc("POST /runs/{id}/cancel", c.pageAuth(true, c.cancelAction))
	mux.HandleFunc("POST /runs/{id}/retry", c.pageAuth(true, c.retryAction))
}

// pageAuth sends a browser without a session to the sign-in form.
func (c *Console) pageAuth(admin bool, h func(http.ResponseWriter, *http.Request, Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok, _ := c.tokens.authenticate(r, c.now())
		if !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if admin && !id.Admin() {
			c.message(w, http.StatusForbidden, id, "Not allowed", "Cancel and retry need an admin token; "+id.Name+" is read-only.", "/")
			return
		}
		h(w, r, id)
	}
}

type loginView struct {
	Who      *Identity
	NoTokens bool
	Error    string
	Next     string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if c.tokens.Len() == 0 {
		status = http.StatusUnauthorized
	}
	c.page.render(w, status, "login", loginView{NoTokens: c.tokens.Len() == 0, Next: localPath(r.URL.Query().Get("next"))})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	next := localPath(r.PostFormValue("next"))
	id, ok := c.tokens.lookup(strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		c.page.render(w, http.StatusUnauthorized, "login", loginView{NoTokens: c.tokens.Len() == 0, Error: "Unknown token.", Next: next})
		return
	}
	c.tokens.setSession(w, r, id, c.now())
	c.log.Info("signed in to the web page", "who", id.Name, "role", id.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// localPath keeps a redirect target on this site: a path, not "//host".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

type listView struct {
	Who      *Identity
	Runs     []runs.Run
	States   []runs.State
	State    string
	Project  string
	Projects []string
	Next     string
	NextURL  string
}

func (c *Console) listPage(w http.ResponseWriter, r *http.Request, who Identity) {
	q := r.URL.Query()
	v := listView{Who: &who, States: runs.States, State: q.Get("state"), Project: q.Get("project")}
	f := runs.Filter{Project: v.Project, Cursor: q.Get("cursor")}
	if v.State != "" {
		f.States = []runs.State{runs.State(v.State)}
	}
	pg, err := c.store.Query(r.Context(), f)
	if errors.Is(err, runs.ErrBadCursor) {
		c.message(w, http.StatusBadRequest, who, "Bad link", err.Error(), "/")
		return
	}
	if err != nil {
		c.log.Error(err, "run store request failed")
		c.message(w, http.StatusServiceUnavailable, who, "Run store unavailable", err.Error(), "/")
		return
	}
	v.Runs, v.Next = pg.Runs, pg.Next
	for _, run := range pg.Runs {
		if !slices.Contains(v.Projects, run.Project) {
			v.Projects = append(v.Projects, run.Project)
		}
	}
	slices.Sort(v.Projects)
	if v.Next != "" {
		next := url.Values{"cursor": {v.Next}}
		for _, k := range []string{"state", "project"} {
			if q.Get(k) != "" {
				next.Set(k, q.Get(k))
			}
		}
		v.NextURL = "/?" + next.Encode()
	}
	c.page.render(w, http.StatusOK, "list", v)
}

type runView struct {
	Who     *Identity
	Run     runs.Run
	Plan    template.HTML
	Entries []runs.Entry
	// After is the cursor the live stream starts from.
	After string
}

func (c *Console) runPage(w http.ResponseWriter, r *http.Request, who Identity) {
	id := r.PathValue("id")
	run, err := c.store.Get(r.Context(), id)
	if errors.Is(err, runs.ErrNotFound) || (err == nil && !runs.ValidID(id)) {
		c.message(w, http.StatusNotFound, who, "No such run", fmt.Sprintf("There is no run %q (never was, or its retention ended).", id), "/")
		return
	}
	if err != nil {
		c.message(w, http.StatusServiceUnavailable, who, "Run store unavailable", err.Error(), "/")
		return
	}
	entries, err := c.tail(r, id)
	if err != nil {
		c.message(w, http.StatusServiceUnavailable, who, "Run store unavailable", err.Error(), "/")
		return
	}
	v := runView{Who: &who, Run: run, Entries: entries}
	if len(entries) > 0 {
		v.After = entries[len(entries)-1].ID
	}
	if run.Plan != "" {
		var buf bytes.Buffer
		if err := c.page.markdown.Convert([]byte(run.Plan), &buf); err == nil {
			v.Plan = template.HTML(buf.String()) // #nosec G203 -- goldmark's safe defaults: no raw HTML, no dangerous links
		}
	}
	c.page.render(w, http.StatusOK, "run", v)
}

// tail is the newest transcriptPage entries of the run's log.
func (c *Console) tail(r *http.Request, id string) ([]runs.Entry, error) {
	entries, err := c.store.Events(r.Context(), id, "", 0)
	if err != nil {
		return nil, err
	}
	if len(entries) > transcriptPage {
		entries = entries[len(entries)-transcriptPage:]
	}
	return entries, nil
}

func (c *Console) cancelAction(w http.ResponseWriter, r *http.Request, who Identity) {
	_, err := c.doCancel(r, who, "")
	c.afterAction(w, r, who, err, "Cancel refused", "only an unfinished run can be cancelled")
}

func (c *Console) retryAction(w http.ResponseWriter, r *http.Request, who Identity) {
	_, err := c.store.Restart(r.Context(), r.PathValue("id"), who.Name)
	c.afterAction(w, r, who, err, "Retry refused", "only a failed or cancelled run can be retried")
}

// afterAction sends the browser back to the run, or says why not.
func (c *Console) afterAction(w http.ResponseWriter, r *http.Request, who Identity, err error, title, rule string) {
	id := r.PathValue("id")
	back := "/runs/" + url.PathEscape(id)
	var te *runs.TransitionError
	var busy *runs.TicketActiveError
	switch {
	case err == nil:
		http.Redirect(w, r, back, http.StatusSeeOther)
	case errors.Is(err, runs.ErrNotFound):
		c.message(w, http.StatusNotFound, who, title, fmt.Sprintf("There is no run %q.", id), "/")
	case errors.As(err, &te):
		c.message(w, http.StatusConflict, who, title, fmt.Sprintf("The run is %s: %s.", te.From, rule), back)
	case errors.As(err, &busy):
		c.message(w, http.StatusConflict, who, title, busy.Error()+".", "/runs/"+url.PathEscape(busy.RunID))
	default:
		c.message(w, http.StatusServiceUnavailable, who, title, err.Error(), back)
	}
}

type messageView struct {
	Who                  *Identity
	Title, Message, Back string
}

func (c *Console) message(w http.ResponseWriter, status int, who Identity, title, msg, back string) {
	c.page.render(w, status, "message", messageView{Who: &who, Title: title, Message: msg, Back: back})
}
