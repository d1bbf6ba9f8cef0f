#!/bin/sh
# mssctl sync refreshes the files pam_mss reads offline (the PSC JWKS and the card CA's CRL)
# from a local HTTP server: validated before they replace the old ones, and any bad download
# fails the sync with the snapshot and both files left as they were.
set -eu
. "$(dirname "$0")/lib/common.sh"

FIX="$SRC/tests/fixtures"
sh "$SRC/tests/pki/make-pki.sh" "$T/pki"
mkdir "$T/www"
cp "$T/pki/ca-personnes.crl" "$T/www/personnes.crl"
openssl crl -in "$T/pki/ca-personnes.crl" -outform DER -out "$T/www/personnes.der"
cat >"$T/www/jwks.json" <<'EOF'
{"keys":[{"kty":"RSA","use":"sig","kid":"test","alg":"RS256","n":"sXch6rw","e":"AQAB"}]}
EOF
printf '{"keys":[]}' >"$T/www/empty-jwks.json"
printf 'not a crl' >"$T/www/garbage.crl"

# A throw-away HTTP server on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$port" >"$T/http.log" 2>&1 &
http_pid=$!
at_exit "kill $http_pid 2>/dev/null"
i=0
until python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/jwks.json')" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 50 ] || fail "http server did not start"
	sleep 0.1
done
URL="http://127.0.0.1:$port"

conf() { # JWKS_URL CRL_URL CA
	write_conf "$T/mssante.conf" <<EOF
snapshot = $T/s.cdb
[trust]
list = $FIX/trust/hopital-test.xml
[pam]
psc_jwks = $T/jwks.json
psc_jwks_url = $1
crl = $T/crl.pem
crl_url = $2
cps_ca_file = $3
EOF
}
M="$MSSCTL -c $T/mssante.conf"

conf "$URL/jwks.json" "$URL/personnes.crl" "$T/pki/igc-sante-personnes.pem"
run 0 $M sync --no-ldap
out_has "psc jwks $T/jwks.json refreshed"
out_has "crl $T/crl.pem refreshed"
cmp -s "$T/jwks.json" "$T/www/jwks.json" || fail "jwks differs"
openssl crl -in "$T/crl.pem" -noout -CAfile "$T/pki/igc-sante-personnes.pem" 2>&1 | grep -q "verify OK" ||
	fail "published CRL does not verify"
ok "JWKS and CRL downloaded, validated and published beside the snapshot"

conf "$URL/jwks.json" "$URL/personnes.der" "$T/pki/igc-sante-personnes.pem"
run 0 $M sync --no-ldap
head -1 "$T/crl.pem" | grep -q "BEGIN X509 CRL" || fail "DER CRL not written as PEM"
ok "a DER CRL is accepted and written as PEM"

conf "file://$T/www/jwks.json" "file://$T/www/personnes.crl" "$T/pki/igc-sante-personnes.pem"
run 0 $M sync --no-ldap
ok "file:// sources"

cp "$T/s.cdb" "$T/s.before"
cp "$T/jwks.json" "$T/jwks.before"
cp "$T/crl.pem" "$T/crl.before"
unchanged() {
	cmp -s "$T/s.cdb" "$T/s.before" && cmp -s "$T/jwks.json" "$T/jwks.before" && cmp -s "$T/crl.pem" "$T/crl.before" ||
		fail "a file changed after a failed sync"
}

conf "$URL/empty-jwks.json" "$URL/personnes.crl" "$T/pki/igc-sante-personnes.pem"
run 2 $M sync --no-ldap
out_has "holds no RSA or EC signing key"
unchanged
ok "a JWKS without keys fails the sync, nothing replaced"

conf "$URL/garbage.crl" "$URL/personnes.crl" "$T/pki/igc-sante-personnes.pem"
run 2 $M sync --no-ldap
out_has "not a JWKS"
unchanged
ok "garbage instead of a JWKS fails the sync"

conf "$URL/jwks.json" "$URL/garbage.crl" "$T/pki/igc-sante-personnes.pem"
run 2 $M sync --no-ldap
out_has "not a CRL"
unchanged
ok "garbage instead of a CRL fails the sync"

conf "$URL/jwks.json" "$URL/personnes.crl" "$T/pki/igc-sante-org.pem"
run 2 $M sync --no-ldap
out_has "the CRL is not signed by a CA of"
unchanged
ok "a CRL not signed by the configured card CA is refused"

conf "$URL/missing.json" "$URL/personnes.crl" "$T/pki/igc-sante-personnes.pem"
run 2 $M sync --no-ldap
out_has "HTTP status 404"
unchanged
ok "HTTP 404 fails the sync"

kill "$http_pid"
wait "$http_pid" 2>/dev/null || true
conf "$URL/jwks.json" "$URL/personnes.crl" "$T/pki/igc-sante-personnes.pem"
run 2 $M sync --no-ldap
unchanged
ok "server down: the sync fails, nothing replaced"
echo "$checks checks passed"
