-- miltertest: the "tempfail" verdict class, against the real mss-milter.
--   miltertest -D sock=unix:PATH [-D daemon=NAME] -s tempfail.lua
-- One inbound and one submission transaction, both refused with the milter's own reply (at each
-- recipient: MAIL FROM gets none). The shell test runs it against milters that cannot decide (snapshot missing or stale,
-- audit trail not writable, a listener name not mapped to a role: -D daemon=smtpd) and checks
-- in the audit trail or the log that the answer was 451 4.3.0, never an accept.

local function check(cond, what)
	if not cond then
		mt.echo("FAIL: " .. what)
		error(what, 2)
	end
end

-- The sender's verdict: MAIL FROM gets no reply (the milter asks for none, SMFIP_NR_MAIL, so
-- that Postfix waits once for MAIL FROM and RCPT TO); each recipient gets the refusal.
local function refused_at_mail(macros, from, what)
	local conn = mt.connect(sock, 50, 0.1)
	check(conn ~= nil, "cannot connect to " .. sock)
	mt.macro(conn, SMFIC_MAIL, table.unpack(macros))
	check(mt.mailfrom(conn, from) == nil, "mailfrom")
	check(mt.getreply(conn) == SMFIR_CONTINUE, what .. ": MAIL FROM " .. from .. " answered (reply " ..
		mt.getreply(conn) .. "), no reply was negotiated")
	for _, to in ipairs({"<jean.martin@hopital-test.mssante.fr>", "<cardiologie@hopital-test.mssante.fr>"}) do
		check(mt.rcptto(conn, to) == nil, "rcptto")
		check(mt.getreply(conn) == SMFIR_REPLYCODE, what .. ": MAIL FROM " .. from .. " not refused at RCPT TO " ..
			to .. " (reply " .. mt.getreply(conn) .. ")")
	end
	mt.disconnect(conn)
end

refused_at_mail({"{daemon_name}", daemon or "mss-inbound", "{tls_version}", "TLSv1.3", "{cert_subject}",
	"mss.ch-valmont.fr", "{cert_issuer}", "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"},
	"<dr.x@ch-valmont.mssante.fr>", "inbound")
refused_at_mail({"{daemon_name}", daemon or "mss-submission", "{auth_authen}", "jean.martin@hopital-test.mssante.fr"},
	"<jean.martin@hopital-test.mssante.fr>", "submission")
mt.echo("tempfail: 2 transactions")
