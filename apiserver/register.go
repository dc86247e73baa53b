package apiserver

import (
	"io"
	"net/http"

	"github.com/herd-project/herd/internal/register"
)

// serveRegister is POST /register: the body, capped, goes to
// Options.Register; every refusal (method, size, rate, a request it
// cannot read, the hook's error) gets internal/register's one failure
// answer, so a client learns nothing about why.
func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		registerFailed(w)
		return
	}
	if _, ok := s.regByAddr.reserve(remoteHost(r.RemoteAddr), 0); !ok {
		registerFailed(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.RegisterMaxBytes))
	if err != nil {
		registerFailed(w)
		return
	}
	user, _, _, err := register.ParseRequest(body, int(s.opts.RegisterMaxBytes))
	if err != nil {
		registerFailed(w)
		return
	}
	if _, ok := s.regByUser.reserve(user, 0); !ok {
		registerFailed(w)
		return
	}
	reply, err := s.opts.Register(r.Context(), body)
	if err != nil {
		s.opts.Logger.Info("apiserver: registration refused", "user", user, "remote", r.RemoteAddr)
		registerFailed(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(reply)
}

func registerFailed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(register.FailureStatus)
	_, _ = w.Write(register.FailureBody())
}
