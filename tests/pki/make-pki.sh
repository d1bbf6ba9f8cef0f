#!/bin/sh
# Generates a test PKI shaped like IGC-Santé, under OUTDIR (made at test time, never committed):
#
#   root-elementaire   "AC RACINE IGC-SANTE ELEMENTAIRE"          (self-signed)
#   ca-org             "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"   operator MTAs, applications
#   root-fort          "AC RACINE IGC-SANTE FORT"                 (self-signed)
#   ca-personnes       "AC IGC-SANTE FORT PERSONNES"              CPS cards, with a CRL
#   foreign-ca         "Foreign Test CA"                          not IGC-Santé
#
# Leaf certificates (NAME.crt + NAME.key, PEM; the key unencrypted, mode 0600):
#   op-hopital-test    CN=mail.hopital-test.fr,OU=31234567800019,O=CH TEST,ST=Paris (75),C=FR
#   op-valmont         CN=mss.ch-valmont.fr,OU=1990000001,O=CH DE VALMONT,ST=Exemple (99),C=FR
#   op-valmont2        CN=mss2.ch-valmont.fr,OU=1990000001,O=CH DE VALMONT,L=Exemple (99),C=FR
#   op-valmont-foreign same DN as op-valmont, issued by foreign-ca
#   op-valmont-impostor CN=mss.ch-valmont.fr with another OU and O, issued by ca-org
#   op-valmont-expired same DN as op-valmont, expired
#   app-dpi            CN=dpi.hopital-test.fr,OU=31234567800019,O=CH TEST,ST=Paris (75),C=FR (client)
#   cps-martin         CN=810003461033+SN=MARTIN+GN=JEAN,title=Médecin,C=FR       (ca-personnes)
#   cps-durand         CN=810100000017+SN=DURAND+GN=SOPHIE,title=Médecin,C=FR     (revoked)
#   cps-foreign        CN=810100000025+SN=BERNARD+GN=PAUL,title=Infirmier,C=FR   (foreign-ca)
# Bundles: igc-sante-org.pem (root-elementaire + ca-org: what smtpd_tls_CAfile holds),
#          igc-sante-personnes.pem (root-fort + ca-personnes), ca-personnes.crl (PEM).
#
# Usage: tests/pki/make-pki.sh OUTDIR     (idempotent: does nothing when OUTDIR/done exists)
set -eu
OUT=$1
[ -f "$OUT/done" ] && exit 0
mkdir -p "$OUT"
cd "$OUT"
umask 077

# EC P-256 keys: fast to make, and what current cards and MTAs use.
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

cat >ext.cnf <<'EOF'
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment,keyAgreement
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[cps]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

serial=1000
# issue NAME SUBJECT ISSUER EXT [DAYS_FROM DAYS_TO]: a certificate for NAME.key signed by ISSUER.
# openssl's -subj lists RDNs from C to CN, the reverse of the RFC 4514 string.
issue() {
	name=$1 subj=$2 issuer=$3 ext=$4
	[ -f "$name.key" ] || newkey "$name"
	openssl req -new -utf8 -multivalue-rdn -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
	serial=$((serial + 1))
	if [ "$issuer" = self ]; then
		openssl x509 -req -in "$name.csr" -signkey "$name.key" -days 3650 -sha256 -set_serial $serial \
			-extfile ext.cnf -extensions "$ext" -out "$name.crt" 2>/dev/null
	else
		openssl x509 -req -in "$name.csr" -CA "$issuer.crt" -CAkey "$issuer.key" -days "${5:-730}" -sha256 \
			-set_serial $serial -extfile ext.cnf -extensions "$ext" -out "$name.crt" 2>/dev/null
	fi
	rm -f "$name.csr"
}

issue root-elementaire "/C=FR/O=ASIP-SANTE/OU=0002 130007669/CN=AC RACINE IGC-SANTE ELEMENTAIRE" self ca
issue ca-org "/C=FR/O=ASIP-SANTE/OU=0002 130007669/CN=AC IGC-SANTE ELEMENTAIRE ORGANISATIONS" root-elementaire ca 3650
issue root-fort "/C=FR/O=ASIP-SANTE/OU=0002 130007669/CN=AC RACINE IGC-SANTE FORT" self ca
issue ca-personnes "/C=FR/O=ASIP-SANTE/OU=0002 130007669/CN=AC IGC-SANTE FORT PERSONNES" root-fort ca 3650
issue foreign-ca "/C=FR/O=Foreign Test/CN=Foreign Test CA" self ca

issue op-hopital-test "/C=FR/ST=Paris (75)/O=CH TEST/OU=31234567800019/CN=mail.hopital-test.fr" ca-org server
issue op-valmont "/C=FR/ST=Exemple (99)/O=CH DE VALMONT/OU=1990000001/CN=mss.ch-valmont.fr" ca-org server
issue op-valmont2 "/C=FR/L=Exemple (99)/O=CH DE VALMONT/OU=1990000001/CN=mss2.ch-valmont.fr" ca-org server
cp op-valmont.key op-valmont-foreign.key
issue op-valmont-foreign "/C=FR/ST=Exemple (99)/O=CH DE VALMONT/OU=1990000001/CN=mss.ch-valmont.fr" foreign-ca server
issue op-valmont-impostor "/C=FR/ST=Exemple (99)/O=IMPOSTEUR/OU=1999999999/CN=mss.ch-valmont.fr" ca-org server
# Expired: valid from two days ago to yesterday (openssl x509 has no start date, so
# use a CA-signed certificate through `openssl ca` in a throw-away database).
newkey op-valmont-expired
openssl req -new -utf8 -key op-valmont-expired.key -out op-valmont-expired.csr \
	-subj "/C=FR/ST=Exemple (99)/O=CH DE VALMONT/OU=1990000001/CN=mss.ch-valmont.fr" 2>/dev/null
mkdir -p expired-db && : >expired-db/index.txt && echo 2000 >expired-db/serial
cat >expired-db/ca.cnf <<EOF
[ca]
default_ca = expired
[expired]
database = expired-db/index.txt
serial = expired-db/serial
new_certs_dir = expired-db
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
EOF
openssl ca -batch -config expired-db/ca.cnf -cert ca-org.crt -keyfile ca-org.key -notext \
	-startdate 20200101000000Z -enddate 20200201000000Z -extfile ext.cnf -extensions server \
	-preserveDN -in op-valmont-expired.csr -out op-valmont-expired.crt 2>/dev/null
rm -f op-valmont-expired.csr

issue app-dpi "/C=FR/ST=Paris (75)/O=CH TEST/OU=31234567800019/CN=dpi.hopital-test.fr" ca-org client
issue cps-martin "/C=FR/title=Médecin/CN=810003461033+SN=MARTIN+GN=JEAN" ca-personnes cps 1095
issue cps-durand "/C=FR/title=Médecin/CN=810100000017+SN=DURAND+GN=SOPHIE" ca-personnes cps 1095
issue cps-foreign "/C=FR/title=Infirmier/CN=810100000025+SN=BERNARD+GN=PAUL" foreign-ca cps 1095

# CRL of FORT PERSONNES: cps-durand revoked.
mkdir -p crl-db && : >crl-db/index.txt && echo 01 >crl-db/crlnumber
cat >crl-db/ca.cnf <<EOF
[ca]
default_ca = personnes
[personnes]
database = crl-db/index.txt
crlnumber = crl-db/crlnumber
default_md = sha256
default_crl_days = 30
EOF
openssl ca -config crl-db/ca.cnf -cert ca-personnes.crt -keyfile ca-personnes.key -revoke cps-durand.crt \
	-crl_reason keyCompromise 2>/dev/null
openssl ca -config crl-db/ca.cnf -cert ca-personnes.crt -keyfile ca-personnes.key -gencrl \
	-out ca-personnes.crl 2>/dev/null

cat root-elementaire.crt ca-org.crt >igc-sante-org.pem
cat root-fort.crt ca-personnes.crt >igc-sante-personnes.pem
chmod 0644 ./*.crt ./*.pem ./*.crl
touch done
