# lastitem as containers: one image, built and tested with the same Debian
# packages and commands as the README's Quick start.
FROM debian:12
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc make autoconf automake pkg-config \
        libc6-dev libfcgi-dev libpq-dev libjson-c-dev postgresql-client nginx curl jq ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN autoreconf -fi && ./configure --prefix=/usr && make -j"$(nproc)" && make install
