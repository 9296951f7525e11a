package samltest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync"
)

// MetadataServer serves IdP metadata over HTTPS on loopback, as an IdP's
// metadata URL does, for tests of a saml.MetadataSource: what it serves
// changes with SetMetadata (a key rollover, an entity ID change, tampered
// bytes), Fail makes it answer an error, and Close takes it down. It
// answers a conditional GET whose If-None-Match holds the current ETag
// with 304 Not Modified. Give the source its Client, which trusts the
// server's certificate. It is safe for concurrent use.
type MetadataServer struct {
	*httptest.Server

	mu       sync.Mutex
	body     []byte
	etag     string
	status   int
	requests int
}

// NewMetadataServer starts a server that serves metadata at MetadataURL.
// Close it when done.
func NewMetadataServer(metadata []byte) *MetadataServer {
	s := &MetadataServer{}
	s.SetMetadata(metadata)
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// MetadataURL is the URL of the metadata.
func (s *MetadataServer) MetadataURL() string { return s.URL + "/metadata" }

// SetMetadata changes what the server serves, from the next request on.
func (s *MetadataServer) SetMetadata(metadata []byte) {
	sum := sha256.Sum256(metadata)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = append([]byte(nil), metadata...)
	s.etag = `"` + hex.EncodeToString(sum[:16]) + `"`
}

// Fail makes the server answer every request with status (such as 503)
// until Fail(0).
func (s *MetadataServer) Fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// Requests returns how many requests the server has answered.
func (s *MetadataServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *MetadataServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	body, etag, status := s.body, s.etag, s.status
	s.mu.Unlock()
	switch {
	case r.URL.Path != "/metadata":
		http.NotFound(w, r)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case status != 0:
		http.Error(w, http.StatusText(status), status)
	case r.Header.Get("If-None-Match") == etag:
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
	default:
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(body)
	}
}
