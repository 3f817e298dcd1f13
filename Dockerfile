# syntax=docker/dockerfile:1.7
# kev: multi-stage build into distroless (glibc, CA certificates, non-root user 65532).
#   docker build -t ghcr.io/kev-dev/kev:0.1.0 .
#   docker run --rm ghcr.io/kev-dev/kev:0.1.0 --version

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
# Manifests and sources only (see .dockerignore); the caches keep the registry and
# target directory between builds.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p kev-cli \
    && cp target/release/kev /kev \
    && mkdir -p /data \
    && /kev --version

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="kev" \
      org.opencontainers.image.description="Keep, query and forward Kubernetes Events" \
      org.opencontainers.image.source="https://github.com/kev-dev/kev" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /kev /kev
# The store's default place in the image; in a cluster a volume is mounted here.
COPY --from=builder --chown=65532:65532 /data /var/lib/kev
WORKDIR /var/lib/kev
USER 65532:65532
EXPOSE 9464
ENTRYPOINT ["/kev"]
CMD ["run"]
