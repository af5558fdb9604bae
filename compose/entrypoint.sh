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

# quorum-monitor's optional secrets (the admin token of the dashboard's buttons, the alert webhooks): a file named
# admin_token, slack_url, discord_url or telegram_token in $QUORUM_MONITOR_SECRETS_DIR (default
# /run/secrets/quorum-monitor: compose bind-mounts compose/secrets/monitor/ there, Kubernetes the optional Secret
# quorum-monitor) sets the matching *_FILE key (docs/configuration.md), unless that key or its value is set already.
# A missing file leaves the feature off; the monitor reads the file itself and never prints it.
secrets_dir=${QUORUM_MONITOR_SECRETS_DIR:-/run/secrets/quorum-monitor}
use_secret_file() {  # use_secret_file FILE VALUE_VARIABLE FILE_VARIABLE
  eval "value=\${$2:-} file=\${$3:-}"
  if [ -z "$value" ] && [ -z "$file" ] && [ -f "$secrets_dir/$1" ]; then
    export "$3=$secrets_dir/$1"
  fi
}
use_secret_file admin_token QUORUM_MONITOR_ADMIN_TOKEN QUORUM_MONITOR_ADMIN_TOKEN_FILE
use_secret_file slack_url QUORUM_MONITOR_ALERTS_SLACK_URL QUORUM_MONITOR_ALERTS_SLACK_FILE
use_secret_file discord_url QUORUM_MONITOR_ALERTS_DISCORD_URL QUORUM_MONITOR_ALERTS_DISCORD_FILE
use_secret_file telegram_token QUORUM_MONITOR_ALERTS_TELEGRAM_TOKEN QUORUM_MONITOR_ALERTS_TELEGRAM_FILE
unset value file

[ "$#" -gt 0 ] || die "no program given (e.g. quorum-features, or quorum --help)"
exec "$@"
