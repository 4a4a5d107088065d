# Runnel in a container.
#   docker build -t runnel .                          the slim image (the last stage)
#   docker build --target full -t runnel:full .       with Python, numpy, pandas, matplotlib and
#                                                     bubblewrap for the code_interpreter tool
#   docker run -p 8080:8080 -v runnel-data:/data runnel
# Every setting comes from RUNNEL_* environment variables (see README, "Settings"); set
# RUNNEL_DATABASE to a postgres:// URL to run several nodes on one PostgreSQL (deploy/compose.yaml).
# scripts/prove-runtime-image.sh replays the runtime stage below in a Debian bookworm root
# filesystem and runs the server there, so keep its instructions in the forms it reads:
# RUN, COPY --from=build, ENV, WORKDIR, USER, HEALTHCHECK CMD [...], ENTRYPOINT [...], CMD [...];
# and the full stage's RUN, COPY (from the context) and ENV on top of it.
# The runtime stage's libcurl4 is not linked: --backend openai opens it when the server starts.

FROM swift:6.3.1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-dev libpq-dev libcurl4-openssl-dev libseccomp-dev libssl-dev \
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
 && apt-get install -y --no-install-recommends ca-certificates libcurl4 libsqlite3-0 libpq5 libssl3 libstdc++6 libseccomp2 poppler-utils \
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

# The code interpreter's Python: a venv of the system python3 (which the sandbox can see) with
# the pinned packages and matplotlib's font cache built once. Level A needs user namespaces,
# which Docker's default profiles refuse (see README, "Code interpreter"); level B works as is.
FROM runtime AS full
USER root
COPY config/code-interpreter-requirements.txt /opt/runnel/code-interpreter-requirements.txt
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/runnel/python \
 && /opt/runnel/python/bin/pip install --no-cache-dir --disable-pip-version-check --only-binary=:all: -r /opt/runnel/code-interpreter-requirements.txt \
 && MPLCONFIGDIR=/opt/runnel/python/matplotlib MPLBACKEND=Agg /opt/runnel/python/bin/python -c "import matplotlib.pyplot" \
 && chmod -R a+rX,go-w /opt/runnel/python
ENV RUNNEL_CODE_INTERPRETER_PYTHON=/opt/runnel/python/bin/python
USER runnel

# The default image stays slim.
FROM runtime AS slim
