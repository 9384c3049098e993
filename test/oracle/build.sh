#!/bin/sh
# build.sh OUTPUT [SOURCE] builds a Go oracle offline, in GOPATH mode: by default the template oracle
# (Go text/template + Sprig, main.go here); SOURCE names another one (yamlscalar/main.go).
#
# Needs the Debian packages golang-go, golang-github-masterminds-sprig-dev,
# golang-k8s-sigs-yaml-dev and golang-github-burntsushi-toml-dev. GOCACHE defaults to a
# directory next to OUTPUT so that rebuilds are fast.
set -eu
out=${1:?usage: build.sh OUTPUT}
here=$(cd "$(dirname "$0")" && pwd)
export GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off
export GOCACHE="${GOCACHE:-$(dirname "$out")/gocache}"
exec go build -o "$out" "$here/${2:-main.go}"
