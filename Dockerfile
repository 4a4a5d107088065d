# Runnel in a container.
#   docker build -t runnel .
#   docker run -p 8080:8080 -v runnel-data:/data runnel
# Every setting comes from RUNNEL_* environment variables (see README, "Settings"); set
# RUNNEL_DATABASE to a postgres:// URL to run several nodes on one PostgreSQL (deploy/compose.yaml).
# scripts/prove-runtime-image.sh replays the runtime stage below in a Debian bookworm root
# filesystem and runs the server there, so keep its instructions in the forms it reads:
# RUN, COPY --from=build, ENV, WORKDIR, USER, HEALTHCHECK CMD [...], ENTRYPOINT [...], CMD [...].

FROM swift:6.3.1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-dev libpq-dev libcurl4-openssl-dev libseccomp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Plugins ./Plugins
COPY Sources ./Sources
COPY Migrations ./Migrations
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product runnel \
 && install -D "$(swift build -c release --static-swift-stdlib --show-bin-path)/runnel" /out/runnel

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libcurl4 libsqlite3-0 libpq5 libstdc++6 libseccomp2 poppler-utils \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin runnel \
 && mkdir -p /data \
 && chown runnel:runnel /data
COPY --from=build /out/runnel /usr/local/bin/runnel
ENV RUNNEL_HOST=0.0.0.0 RUNNEL_PORT=8080 RUNNEL_DATABASE=/data/runnel.sqlite
VOLUME ["/data"]
WORKDIR /data
USER runnel
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["runnel", "health"]
ENTRYPOINT ["runnel"]
CMD ["serve"]
