#!/bin/sh
# build.sh OUTPUT builds the template oracle (Go text/template + Sprig) offline, in GOPATH mode.
#
# Needs the Debian packages golang-go, golang-github-masterminds-sprig-dev,
# golang-k8s-sigs-yaml-dev and golang-github-burntsushi-toml-dev. GOCACHE defaults to a
# directory next to OUTPUT so that rebuilds are fast.
set -eu
out=${1:?usage: build.sh OUTPUT}
here=$(cd "$(dirname "$0")" && pwd)
export GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off
export GOCACHE="${GOCACHE:-$(dirname "$out")/gocache}"
exec go build -o "$out" "$here/main.go"
