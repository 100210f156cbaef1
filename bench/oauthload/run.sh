#!/usr/bin/env bash
# Runs the token endpoint load test against a freshly built server on the
# embedded engine, then prints the server's peak resident memory.
# Usage: bench/oauthload/run.sh [oauthload flags...]   (from the repository root)
# With PPROF_LISTEN=127.0.0.1:PORT the server is built with -tags pprof and
# serves its profiles there (go tool pprof http://$PPROF_LISTEN/debug/pprof/profile).
set -euo pipefail

port=${PORT:-18480}
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

bin=./bin/averos-auth
if [ -n "${PPROF_LISTEN:-}" ]; then
  bin="$work/averos-auth"
  make -s build BINARY="$bin" TAGS=ferretdb_no_postgresql,pprof
else
  make -s build
fi
go build -o "$work/oauthload" ./bench/oauthload

export AVEROS_AUTH_DATA_DIR="$work/data" AVEROS_AUTH_LOG_LEVEL=warn
PPROF_LISTEN=${PPROF_LISTEN:-} "$bin" serve --listen "127.0.0.1:$port" --issuer "http://localhost:$port" 2>"$work/server.log" &
server=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.1; done

secret=$("$bin" clients create --id load --grant password,refresh_token,client_credentials \
  --scope openid,profile,email,offline_access --introspect-any --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
users=()
for i in $(seq 1 64); do
  printf 'Load-passw0rd\n' | "$bin" users create --username "load$i" --email "load$i@example.com" >/dev/null
  users+=("load$i")
done
list=$(IFS=,; echo "${users[*]}")

# The hash ceiling printed beside the password rows uses the server's
# argon2id parameters.
argon2=()
[ -n "${AVEROS_AUTH_PASSWORD_ARGON2_MEMORY_KIB:-}" ] && argon2+=(-argon2-memory-kib "$AVEROS_AUTH_PASSWORD_ARGON2_MEMORY_KIB")
[ -n "${AVEROS_AUTH_PASSWORD_ARGON2_ITERATIONS:-}" ] && argon2+=(-argon2-iterations "$AVEROS_AUTH_PASSWORD_ARGON2_ITERATIONS")
[ -n "${AVEROS_AUTH_PASSWORD_ARGON2_PARALLELISM:-}" ] && argon2+=(-argon2-parallelism "$AVEROS_AUTH_PASSWORD_ARGON2_PARALLELISM")

"$work/oauthload" -url "http://127.0.0.1:$port" -client load -secret "$secret" \
  -users "$list" -password Load-passw0rd "${argon2[@]}" "$@"

errors=$(grep -c '"level":"error"' "$work/server.log" || true)
if [ "$errors" -gt 0 ]; then
  echo "server logged $errors errors; the first ones:"
  grep '"level":"error"' "$work/server.log" | head -3 | cut -c1-400 || true
fi
echo "server peak RSS: $(awk '/VmHWM/{print $2, $3}' /proc/$server/status)"
echo "server RSS now:  $(awk '/VmRSS/{print $2, $3}' /proc/$server/status)" \
  "(anonymous $(awk '/RssAnon/{print $2, $3}' /proc/$server/status)," \
  "file $(awk '/RssFile/{print $2, $3}' /proc/$server/status))"
