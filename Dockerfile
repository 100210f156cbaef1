# Multi-stage build: a static averos-auth binary in a distroless image that
# runs as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -tags ferretdb_no_postgresql \
    -ldflags "-s -w -X main.version=${VERSION}" \
    -o /out/averos-auth ./cmd/averos-auth

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/averos-auth /usr/local/bin/averos-auth
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/averos-auth"]
CMD ["serve"]
