package adofake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// recorder notes the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// route is a request split into what handlers need.
type route struct {
	project string
	// parts are the path segments after _apis; keywords lower-cased by
	// match, names as sent.
	parts []string
}

// match reports whether the route's segments are pattern's, where "*"
// matches any one segment and other segments match without regard to case.
func (rt route) match(pattern ...string) bool {
	if len(rt.parts) != len(pattern) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && !strings.EqualFold(p, rt.parts[i]) {
			return false
		}
	}
	return true
}

// serve authenticates, checks the api-version, plays scripted answers and
// dispatches. Every request is recorded.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		path := strings.TrimPrefix(r.URL.Path, "/"+s.org)
		if r.URL.RawQuery != "" {
			path += "?" + r.URL.RawQuery
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: path, Status: rec.status})
		s.mu.Unlock()
	}()
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) < 3 || !strings.EqualFold(segs[0], s.org) {
		s.fail(rec, http.StatusNotFound, "VS800075: The project with id 'vstfs:///Classification/TeamProject/' does not exist, or you do not have permission to access it.", "ProjectDoesNotExistException")
		return
	}
	if !s.authorized(r) {
		if !strings.EqualFold(r.Header.Get("X-TFS-FedAuthRedirect"), "Suppress") {
			rec.Header().Set("Content-Type", "text/html; charset=utf-8")
			rec.WriteHeader(http.StatusNonAuthoritativeInfo)
			_, _ = rec.Write([]byte("<html><head><title>Azure DevOps Services | Sign In</title></head><body></body></html>"))
			return
		}
		s.fail(rec, http.StatusUnauthorized, "TF400813: The user '' is not authorized to access this resource.", "UnauthorizedRequestException")
		return
	}
	if s.playScripted(rec) {
		return
	}
	if len(segs) == 3 && strings.EqualFold(segs[1], "_apis") && strings.EqualFold(segs[2], "connectionData") && r.Method == http.MethodGet {
		if s.versionOK(rec, r, route{}) {
			s.connectionData(rec, r)
		}
		return
	}
	if !strings.EqualFold(segs[2], "_apis") {
		s.fail(rec, http.StatusNotFound, "The resource cannot be found.", "")
		return
	}
	rt := route{project: segs[1], parts: segs[3:]}
	if !s.versionOK(rec, r, rt) {
		return
	}
	s.mu.Lock()
	_, known := s.projects[strings.ToLower(rt.project)]
	s.mu.Unlock()
	if !known {
		s.fail(rec, http.StatusNotFound, "TF200016: The following project does not exist: "+rt.project+". Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.", "ProjectDoesNotExistWithNameException")
		return
	}
	s.dispatch(rec, r, rt)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, rt route) {
	m := r.Method
	switch {
	case rt.match("wit", "workitems", "*") && m == http.MethodGet:
		s.getWorkItem(w, r, rt)
	case rt.match("wit", "workitems", "*") && m == http.MethodPatch:
		s.patchWorkItem(w, r, rt)
	case rt.match("wit", "workitemsbatch") && m == http.MethodPost:
		s.batchWorkItems(w, r, rt)
	case rt.match("wit", "wiql") && m == http.MethodPost:
		s.queryWIQL(w, r, rt)
	case rt.match("wit", "workitems", "*", "comments") && m == http.MethodGet:
		s.listComments(w, r, rt)
	case rt.match("wit", "workitems", "*", "comments") && m == http.MethodPost:
		s.addComment(w, r, rt)
	case rt.match("wit", "workitems", "*", "comments", "*") && m == http.MethodPatch:
		s.editComment(w, r, rt)
	case rt.match("wit", "workitemtypes", "*", "states") && m == http.MethodGet:
		s.listStates(w, rt)
	case rt.match("git", "repositories", "*") && m == http.MethodGet:
		s.getRepo(w, rt)
	case rt.match("git", "repositories", "*", "pullrequests") && m == http.MethodGet:
		s.listPulls(w, r, rt)
	case rt.match("git", "repositories", "*", "pullrequests") && m == http.MethodPost:
		s.createPull(w, r, rt)
	case rt.match("git", "repositories", "*", "pullrequests", "*") && m == http.MethodGet:
		s.getPull(w, rt)
	case rt.match("git", "repositories", "*", "pullrequests", "*") && m == http.MethodPatch:
		s.updatePull(w, r, rt)
	default:
		s.fail(w, http.StatusNotFound, "The controller for path '"+r.URL.Path+"' was not found or does not implement IController.", "")
	}
}

// authorized checks basic auth: the password is a personal access token,
// the user name is ignored.
func (s *Server) authorized(r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.callerLocked(r)
	return ok
}

// callerLocked is who the request's token acts as: Agent when no token is
// configured. s.mu is held.
func (s *Server) callerLocked(r *http.Request) (Identity, bool) {
	if len(s.tokens) == 0 {
		return Agent, true
	}
	_, pass, ok := r.BasicAuth()
	who, known := s.tokens[pass]
	return who, ok && known
}

// playScripted answers with the next scripted answer, if any; a delayed
// answer only adds its headers and lets the request through.
func (s *Server) playScripted(w http.ResponseWriter) bool {
	s.mu.Lock()
	if len(s.scripted) == 0 {
		s.mu.Unlock()
		return false
	}
	sc := s.scripted[0]
	s.scripted = s.scripted[1:]
	s.mu.Unlock()
	h := w.Header()
	if sc.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(sc.retryAfter.Round(time.Second)/time.Second)))
		h.Set("X-RateLimit-Resource", "Core")
		h.Set("X-RateLimit-Delay", strconv.FormatFloat(sc.retryAfter.Seconds(), 'f', 3, 64))
		h.Set("X-RateLimit-Limit", "200")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(5*time.Minute).Unix(), 10))
	}
	switch {
	case sc.delayed:
		return false
	case sc.status == http.StatusTooManyRequests || (sc.status == http.StatusServiceUnavailable && sc.retryAfter > 0):
		s.fail(w, sc.status, "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Core' in namespace 'User'.", "RequestBlockedException")
	default:
		s.fail(w, sc.status, http.StatusText(sc.status), "")
	}
	return true
}

// versionOK checks the api-version as Azure DevOps does: it must be there,
// be a 7.x version, and name -preview for preview resources (comments).
func (s *Server) versionOK(w http.ResponseWriter, r *http.Request, rt route) bool {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		s.fail(w, http.StatusBadRequest, `No api-version was supplied for the "`+r.Method+`" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. '?api-version=1.0').`, "VssVersionNotSpecifiedException")
		return false
	}
	if !strings.HasPrefix(v, "7.") {
		s.fail(w, http.StatusBadRequest, "The requested REST API version of "+v+" is out of range for this server.", "VssVersionOutOfRangeException")
		return false
	}
	preview := len(rt.parts) >= 4 && strings.EqualFold(rt.parts[3], "comments")
	if preview && !strings.Contains(v, "-preview") {
		s.fail(w, http.StatusBadRequest, `The requested version "`+v+`" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: "`+v+`-preview"`, "VssInvalidPreviewVersionException")
		return false
	}
	return true
}

// wireError is Azure DevOps' error body.
type wireError struct {
	ID             string `json:"$id"`
	InnerException any    `json:"innerException"`
	Message        string `json:"message"`
	TypeName       string `json:"typeName"`
	TypeKey        string `json:"typeKey"`
	ErrorCode      int    `json:"errorCode"`
	EventID        int    `json:"eventId"`
}

func (s *Server) fail(w http.ResponseWriter, status int, msg, typeKey string) {
	typeName := ""
	if typeKey != "" {
		typeName = "Microsoft.TeamFoundation." + typeKey + ", Microsoft.TeamFoundation.Server.Core"
	}
	s.reply(w, status, wireError{ID: "1", Message: msg, TypeName: typeName, TypeKey: typeKey, EventID: 3000})
}

func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8; api-version=7.1")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	return dec.Decode(v)
}
