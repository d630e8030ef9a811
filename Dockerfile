# syntax=docker/dockerfile:1
# The CRM API: a static binary on a distroless base, run as a non-root user.
#   docker build -t crm .            (or: docker compose up, see docs/operations.md)

# --- build: a static binary (pure Go: modernc SQLite, pgx; no cgo) ---
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/crm ./cmd/crm
# The SQLite data folder, owned by the runtime user (used only without PostgreSQL).
RUN mkdir -p /out/data

# --- runtime: no shell, no package manager, user 65532 (nonroot) ---
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/crm /usr/local/bin/crm
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
USER 65532:65532
ENV CRM_HTTP_ADDR=0.0.0.0:8080 \
    CRM_DATABASE_URL=sqlite:/data/crm.db
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/crm"]
CMD ["serve"]
