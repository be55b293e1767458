package app

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The workloads written against net/http, as a Go programmer would write
// them with the standard library alone: a ServeMux with method patterns,
// encoding/json, io.Copy. They answer what the native handlers answer (the
// same paths, statuses and bodies), so that a run can put the native
// handler and this one side by side on the same core: the difference is
// the cost of the interface.

// benchHTTP is bench in net/http.
func benchHTTP() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plaintext", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", textPlain)
		io.WriteString(w, "Hello, World!")
	})
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		b, err := json.Marshal(jsonMessage{Message: "Hello, World!"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", appJSON)
		w.Write(b)
	})
	mux.HandleFunc("/baseline", baselineHTTP)
	mux.HandleFunc("POST /echo", echoHTTP)
	mux.HandleFunc("PUT /echo", echoHTTP)
	mux.HandleFunc("POST /upload", uploadHTTP)
	mux.HandleFunc("PUT /upload", uploadHTTP)
	return mux
}

// jsonMessage is TechEmpower's JSON test object, for encoding/json.
type jsonMessage struct {
	Message string `json:"message"`
}

func baselineHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST, OPTIONS")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	var sum int64
	for _, vs := range r.URL.Query() {
		for _, v := range vs {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || !addOK(sum, n) {
				http.Error(w, "query values must be integers", http.StatusBadRequest)
				return
			}
			sum += n
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		BodyError(w, err)
		return
	}
	if s := strings.TrimSpace(string(body)); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || !addOK(sum, n) {
			http.Error(w, "body must be an integer", http.StatusBadRequest)
			return
		}
		sum += n
	}
	w.Header().Set("Content-Type", textPlain)
	io.WriteString(w, strconv.FormatInt(sum, 10))
}

// echoHTTP is echo in net/http: the body back, labelled as it came.
func echoHTTP(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	switch {
	case ct != "":
	case r.ContentLength != 0:
		ct = octets
	default:
		ct = textPlain
	}
	w.Header().Set("Content-Type", ct)
	if r.Method == http.MethodOptions {
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		BodyError(w, err)
		return
	}
	w.Write(body)
}

// uploadHTTP reads the body as it comes and answers with its length.
func uploadHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		BodyError(w, err)
		return
	}
	w.Header().Set("Content-Type", textPlain)
	io.WriteString(w, strconv.FormatInt(n, 10))
}

// BodyError answers a request whose body could not be read: 413 for a body
// over the limit (net/http's MaxBytesError, which iolab's adapter gives
// too), 400 for anything else.
func BodyError(w http.ResponseWriter, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
}
