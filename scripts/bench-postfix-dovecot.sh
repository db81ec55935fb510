#!/usr/bin/env bash
# A private Postfix -> LMTP -> Dovecot pair for bench/processing.bench.ts: Debian's packages with
# their default (fsync-safe) settings, in one temp directory with their own ports; the system's
# /etc/postfix and /etc/dovecot are neither read nor changed. Runs as root (Postfix's master).
#   scripts/bench-postfix-dovecot.sh start DIR SMTP_PORT LMTP_PORT DOMAIN USER...
#   scripts/bench-postfix-dovecot.sh stop DIR
# Mail for USER@DOMAIN lands in DIR/mail/DOMAIN/USER/Maildir/new.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}

stop() {
  [ -f "$dir/postfix/main.cf" ] && postfix -c "$dir/postfix" stop >/dev/null 2>&1 || true
  if [ -f "$dir/run/master.pid" ]; then kill "$(cat "$dir/run/master.pid")" 2>/dev/null || true; fi
  for _ in $(seq 50); do
    [ -f "$dir/run/master.pid" ] && kill -0 "$(cat "$dir/run/master.pid")" 2>/dev/null || break
    sleep 0.1
  done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR ..." >&2; exit 2; }
smtp_port=${3:?smtp port}; lmtp_port=${4:?lmtp port}; domain=${5:?domain}; shift 5
[ "$(id -u)" = 0 ] || { echo "Postfix's master must run as root" >&2; exit 1; }
command -v postfix >/dev/null && command -v dovecot >/dev/null || { echo "apt-get install postfix dovecot-lmtpd" >&2; exit 1; }

mkdir -p "$dir"/{postfix,spool,data,run,state,mail}
chown postfix "$dir/data"
chmod 755 "$dir"
chown nobody:nogroup "$dir/mail"
: > "$dir/vmailbox"
for user in "$@"; do echo "$user@$domain OK" >> "$dir/vmailbox"; done

cat > "$dir/dovecot.conf" <<CONF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
mail_location = maildir:$dir/mail/%d/%n/Maildir
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$dir/mail/%d/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp_port
  }
}
CONF

cat > "$dir/postfix/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
mail_owner = postfix
myhostname = postfix-bench.localhost
mydestination =
local_recipient_maps =
alias_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = $domain
virtual_mailbox_maps = texthash:$dir/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:$lmtp_port
maillog_file_prefixes = $dir
maillog_file = $dir/maillog
CONF

# The Debian master.cf's services, without chroot (the private queue has no chroot files) and with
# smtpd on a private port.
cat > "$dir/postfix/master.cf" <<CONF
127.0.0.1:$smtp_port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CONF

dovecot -c "$dir/dovecot.conf" </dev/null >/dev/null 2>&1
postfix -c "$dir/postfix" check >/dev/null 2>&1 || true
postfix -c "$dir/postfix" start </dev/null >/dev/null 2>&1
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$lmtp_port") 2>/dev/null; then exit 0; fi
  sleep 0.1
done
echo "Postfix ($smtp_port) or Dovecot LMTP ($lmtp_port) did not start; see $dir/maillog and $dir/dovecot.log" >&2
exit 1
