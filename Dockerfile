# One image holding the four conductor binaries; the chart picks one per Deployment with `command`.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd cmd
COPY pkg pkg
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/cloudevents-conductor/conductor/pkg/version.Version=${VERSION}" \
      -o /out/ ./cmd/grpc-gateway ./cmd/work-service ./cmd/db-service ./cmd/consumer-controller

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /
USER 65532:65532
