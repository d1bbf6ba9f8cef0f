-- miltertest: the "tempfail" verdict class, against the real mss-milter.
--   miltertest -D sock=unix:PATH -D lib=common.lua [-D daemon=NAME] -s tempfail.lua
-- One inbound and one submission transaction, both refused with the milter's own reply (at
-- each recipient: MAIL FROM gets none). The shell test runs it against milters that cannot
-- decide (snapshot missing or stale, audit trail not writable, a listener name not mapped to a
-- role: -D daemon=smtpd) and checks in the audit trail or the log that the answer was 451
-- 4.3.0, never an accept.

dofile(lib)

refused_at_mail({"{daemon_name}", daemon or "mss-inbound", "{tls_version}", "TLSv1.3", "{cert_subject}",
	"mss.ch-valmont.fr", "{cert_issuer}", "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"},
	"<dr.x@ch-valmont.mssante.fr>", "inbound")
refused_at_mail({"{daemon_name}", daemon or "mss-submission", "{auth_authen}", "jean.martin@hopital-test.mssante.fr"},
	"<jean.martin@hopital-test.mssante.fr>", "submission")
mt.echo("tempfail: 2 transactions")
