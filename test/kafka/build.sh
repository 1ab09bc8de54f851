#!/usr/bin/env bash
# Builds test/kafka/bin/mock-broker: a Kafka-protocol test broker, librdkafka's
# mock cluster (rdkafka_mock.h, shipped in Debian's librdkafka-dev), and
# test/kafka/bin/produce, librdkafka's own producer (compressed batches). Idempotent:
# installs the headers only when they are missing, rebuilds only when the source
# is newer than the binary.
set -euo pipefail
cd "$(dirname "$0")"

have_header() { [ -f /usr/include/librdkafka/rdkafka_mock.h ] && pkg-config --exists rdkafka 2>/dev/null; }

if ! have_header || ! command -v cc >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only when the package is not known yet.
  if ! apt-cache show librdkafka-dev >/dev/null 2>&1; then $SUDO apt-get update -qq; fi
  $SUDO apt-get install -y -qq librdkafka-dev pkg-config gcc >/dev/null
fi

mkdir -p bin
if [ ! -x bin/mock-broker ] || [ mock-broker.c -nt bin/mock-broker ]; then
  # shellcheck disable=SC2046
  cc -O2 -Wall -o bin/mock-broker.tmp mock-broker.c $(pkg-config --cflags --libs rdkafka)
  mv bin/mock-broker.tmp bin/mock-broker
fi
if [ ! -x bin/produce ] || [ produce.c -nt bin/produce ]; then
  # shellcheck disable=SC2046
  cc -O2 -Wall -o bin/produce.tmp produce.c $(pkg-config --cflags --libs rdkafka)
  mv bin/produce.tmp bin/produce
fi
echo "mock-broker: $(pwd)/bin/mock-broker"
