# lastitem as containers, every image from Debian 12's own packages.
#
#   build    compilers and -dev packages; builds and installs into /out
#   db       PostgreSQL 15 (Debian's postgresql): makes its cluster in a
#            volume at first start and loads sql/ at every start
#   runtime  the two programs, nginx, the schema and the page: runtime
#            libraries only, no compiler (the default target)
#
# docker-compose.yml builds `db` and `runtime`; test/compose_stack.sh builds
# them with podman and runs the stack.
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make autoconf automake \
        pkg-config libfcgi-dev libpq-dev libjson-c-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the programs and the installed data are made of, so that a change
# to the tests or the docs reuses this stage from the cache.
COPY configure.ac Makefile.am ./
COPY m4/ m4/
COPY fcgi/ fcgi/
COPY sql/ sql/
COPY nginx/ nginx/
COPY public/ public/
RUN autoreconf -fi \
 && ./configure --prefix=/usr \
 && make -j"$(nproc)" fcgi/lastitem-api fcgi/lastitem-events \
 && make install-exec install-data DESTDIR=/out

FROM debian:12 AS db
# No cluster at install time: db-start.sh makes one in the volume.
RUN mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/share/lastitem/sql /usr/share/lastitem/sql
COPY scripts/container/db-start.sh /usr/lib/lastitem/db-start.sh
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
CMD ["/usr/lib/lastitem/db-start.sh"]

FROM debian:12 AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libfcgi0ldbl libpq5 libjson-c5 nginx \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin lastitem
COPY --from=build /out/ /
COPY scripts/container/api-start.sh scripts/container/web-start.sh /usr/lib/lastitem/
# The services start as root only to read what root owns (the admin token's
# secret) or to bind; each program then runs as lastitem or nobody.
CMD ["lastitem-api", "--help"]
