#!/usr/bin/env bash
# Installs and starts two throw-away WordPress sites for the integration tests.
#
#   http://127.0.0.1:$WORDPRESS_PORT         plain permalinks, REST only via ?rest_route=
#   http://127.0.0.2:$WORDPRESS_PRETTY_PORT  pretty permalinks, REST at /wp-json/
#
# Debian's wp-config.php picks /etc/wordpress/config-<host>.php by the Host
# header, which is why the two sites differ by address and not only by port.
# Writes /tmp/autopilot-wordpress.json with {"url", "username", "app_password",
# "pretty": {...}}. Safe to re-run: every run starts from empty databases.
set -euo pipefail

PORT="${WORDPRESS_PORT:-8881}"
PRETTY_PORT="${WORDPRESS_PRETTY_PORT:-$((PORT + 1))}"
OUT=/tmp/autopilot-wordpress.json
CI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WP_ROOT=/usr/share/wordpress
PACKAGES=(wordpress php-cli php-mysql)

log() { echo "wordpress.sh: $*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

apt_busy() { pgrep -x apt-get >/dev/null || pgrep -x apt >/dev/null || pgrep -x dpkg >/dev/null; }

wait_for_apt() {
    local waited=0
    while apt_busy; do
        if ((waited % 15 == 0)); then
            log "another apt-get/dpkg is running (see /tmp/apt.log); waiting for it"
        fi
        if ((waited >= 900)); then
            die "apt-get/dpkg still running after 15 minutes; see /tmp/apt.log"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

missing_packages() {
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii'; then
            echo "$pkg"
        fi
    done
    if [[ ! -x /usr/sbin/mariadbd ]]; then
        echo mariadb-server
    fi
}

ensure_packages() {
    local missing
    missing="$(missing_packages)"
    [[ -z "$missing" ]] && return 0

    # A background install may be about to provide exactly these packages.
    wait_for_apt
    missing="$(missing_packages)"
    [[ -z "$missing" ]] && return 0

    # shellcheck disable=SC2086 # one package name per word
    if ! apt-cache show $missing >/dev/null 2>&1; then
        log "package lists lack: $missing; running apt-get update"
        apt-get update -q >&2 || die "apt-get update failed"
    fi
    log "installing: $missing"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=600 $missing >&2 || die "apt-get install $missing failed"
}

mysql_root() { mysql --protocol=tcp -h 127.0.0.1 -P 3306 -u root "$@"; }

ensure_mariadb() {
    if ! mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
        log "starting MariaDB"
        install -d -o mysql -g mysql /run/mysqld /var/log/mysql
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
        local i
        for i in $(seq 60); do
            mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 && break
            ((i == 60)) && die "MariaDB did not answer on 127.0.0.1:3306 within 30 s; see /var/log/mysql/error.log"
            sleep 0.5
        done
    fi
    mysql_root -e 'SELECT 1' >/dev/null 2>&1 \
        || die "MariaDB on 127.0.0.1:3306 refuses root with an empty password"
}

stop_server() {
    local host=$1 port=$2 pidfile=$3 pid
    if [[ -f "$pidfile" ]]; then
        pid="$(<"$pidfile")"
        # Only our own server: the pid may have been reused since.
        if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-S $host:$port "; then
            kill -- "-$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 -- "-$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    fi
    if ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
        die "$host:$port is in use by another program; set WORDPRESS_PORT / WORDPRESS_PRETTY_PORT"
    fi
}

write_config() {
    local host=$1 port=$2 db=$3
    cat >"/etc/wordpress/config-$host.php" <<EOF
<?php
// Written by .ci/wordpress.sh for Autopilot's integration tests; rewritten on every run.
define('DB_NAME', '$db');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', '127.0.0.1');
// 'local' lets application passwords work over plain http.
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_HOME', 'http://$host:$port');
define('WP_SITEURL', 'http://$host:$port');
// Cron would make WordPress call itself during the tests.
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
EOF
}

start_server() {
    local host=$1 port=$2 pidfile=$3 router=${4:-}
    local logfile="/tmp/autopilot-wordpress-$host-$port.log"
    # setsid makes the server a process-group leader, so stop_server can end
    # its workers with it; the pid is written from inside for the same reason.
    PHP_CLI_SERVER_WORKERS=4 setsid bash -c 'echo $$ >"$0"; exec "$@"' \
        "$pidfile" php -S "$host:$port" -t "$WP_ROOT" $router \
        </dev/null >"$logfile" 2>&1 &

    local i
    for i in $(seq 100); do
        if curl -fsS -o /dev/null "http://$host:$port/?rest_route=/" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$logfile" >&2 || true
    die "WordPress on http://$host:$port did not answer within 10 s; log: $logfile"
}

check_site() {
    local url=$1 user=$2 password=$3 index=$4
    curl -fsS "$url$index" | grep -q '"namespaces"' \
        || die "$url$index is not a WordPress REST index"
    curl -fsS -u "$user:$password" -o /dev/null "$url/?rest_route=/wp/v2/users/me&context=edit" \
        || die "$url refuses the application password (is the Authorization header passed?)"
}

setup_site() {
    local host=$1 port=$2 db=$3 permalinks=$4 router=${5:-}
    local pidfile="/tmp/autopilot-wordpress-$host-$port.pid" url="http://$host:$port"

    stop_server "$host" "$port" "$pidfile"
    mysql_root -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4"
    write_config "$host" "$port" "$db"

    local credentials
    credentials="$(php "$CI_DIR/wordpress-install.php" "$url" "$permalinks")" \
        || die "installing WordPress at $url failed"
    start_server "$host" "$port" "$pidfile" "$router"
    echo "$credentials"
}

main() {
    local started=$SECONDS
    rm -f "$OUT"
    [[ $EUID -eq 0 ]] || die "run as root: it installs packages and writes /etc/wordpress"

    ensure_packages
    ensure_mariadb
    mkdir -p /etc/wordpress

    local plain pretty
    plain="$(setup_site 127.0.0.1 "$PORT" autopilot_wp '')"
    pretty="$(setup_site 127.0.0.2 "$PRETTY_PORT" autopilot_wp_pretty '/%postname%/' \
        "$CI_DIR/wordpress-router.php")"

    local field
    for field in url username app_password; do
        declare "plain_$field=$(php -r 'echo json_decode($argv[1], true)[$argv[2]];' "$plain" "$field")"
        declare "pretty_$field=$(php -r 'echo json_decode($argv[1], true)[$argv[2]];' "$pretty" "$field")"
    done
    # shellcheck disable=SC2154 # declared in the loop above
    check_site "$plain_url" "$plain_username" "$plain_app_password" "/?rest_route=/"
    # shellcheck disable=SC2154
    check_site "$pretty_url" "$pretty_username" "$pretty_app_password" "/wp-json/"

    php -r '$site = json_decode($argv[1], true);
        $site["pretty"] = json_decode($argv[2], true);
        echo json_encode($site, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";' \
        "$plain" "$pretty" >"$OUT.tmp"
    mv "$OUT.tmp" "$OUT"
    log "WordPress ready at $plain_url and $pretty_url in $((SECONDS - started)) s; credentials in $OUT"
}

main "$@"
