package httpx

import (
	"context"
	"net"
	"net/http"
	"time"

	"crm/platform/errs"

	"github.com/danielgtaylor/huma/v2"
)

type healthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

func (s *Server) healthRoutes() []Route {
	return []Route{
		Public(huma.Operation{Method: http.MethodGet, Path: "/healthz", OperationID: "healthz", Summary: "Liveness: the process is up", Tags: []string{"Operations"}},
			func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
				out := &healthOutput{}
				out.Body.Status = "ok" // no version: a public answer names no build (crm version does)
				return out, nil
			}),
		Public(huma.Operation{Method: http.MethodGet, Path: "/readyz", OperationID: "readyz", Summary: "Readiness: the database answers (503 when it does not)", Tags: []string{"Operations"}},
			func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
				ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				if err := s.opts.DB.PingContext(ctx); err != nil {
					return nil, errs.Unavailable(err)
				}
				out := &healthOutput{}
				out.Body.Status = "ready"
				return out, nil
			}),
	}
}

func listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
