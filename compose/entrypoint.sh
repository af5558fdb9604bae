#!/bin/sh
# Entry point of the Quorum image (installed as /usr/local/bin/quorum-entrypoint): runs the given program, a
# quorum-* service or the quorum CLI, in place of itself.
#
# The Postgres password lives in a file (a Docker Compose or Kubernetes secret), never in a compose file or a
# ConfigMap: when QUORUM_POSTGRES_URL is not set and POSTGRES_PASSWORD_FILE is, this script builds
#   QUORUM_POSTGRES_URL=postgres://$POSTGRES_USER:<password>@$POSTGRES_HOST:$POSTGRES_PORT/$POSTGRES_DB
# (defaults quorum, postgres, 5432, quorum). The password goes into the URL as it is, so it may only hold
# letters, digits and . _ ~ - (openssl rand -hex 24 makes one). Errors never print the password.
set -eu

die() { printf 'quorum-entrypoint: %s\n' "$*" >&2; exit 64; }

if [ -z "${QUORUM_POSTGRES_URL:-}" ] && [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  [ -r "$POSTGRES_PASSWORD_FILE" ] || die "cannot read POSTGRES_PASSWORD_FILE ($POSTGRES_PASSWORD_FILE): is the secret mounted and readable by uid $(id -u)? (docs/deployment.md)"
  pw=$(tr -d '\r\n' < "$POSTGRES_PASSWORD_FILE")
  case "$pw" in
    "") die "the Postgres password file $POSTGRES_PASSWORD_FILE is empty" ;;
    REPLACE_ME*) die "the Postgres password file $POSTGRES_PASSWORD_FILE still holds the placeholder; put a real password there (docs/deployment.md)" ;;
    *[!A-Za-z0-9._~-]*) die "the Postgres password in $POSTGRES_PASSWORD_FILE may only hold letters, digits and . _ ~ - (it is put into a URL unescaped); make one with: openssl rand -hex 24" ;;
  esac
  QUORUM_POSTGRES_URL="postgres://${POSTGRES_USER:-quorum}:${pw}@${POSTGRES_HOST:-postgres}:${POSTGRES_PORT:-5432}/${POSTGRES_DB:-quorum}"
  export QUORUM_POSTGRES_URL
  unset pw
fi

[ "$#" -gt 0 ] || die "no program given (e.g. quorum-features, or quorum --help)"
exec "$@"
