# Multi-stage build: compile in the Rust image, run as a non-root user in a slim image.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p server && strip target/release/server

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/onboarding --create-home onboarding
COPY --from=build /src/target/release/server /usr/local/bin/server
USER onboarding
WORKDIR /var/lib/onboarding
ENV LISTEN_ADDR=0.0.0.0:8080 \
    DATA_DIR=/var/lib/onboarding/data \
    LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/server"]
CMD ["serve"]
