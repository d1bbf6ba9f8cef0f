-- miltertest: the "reject" verdict class, against the real mss-milter.
--   miltertest -D sock=unix:PATH -D lib=common.lua -s reject.lua
-- Each case is refused with a reply of the milter's own (SMFIR_REPLYCODE: miltertest does not
-- show the text of MAIL and RCPT replies, so the shell test reads the reason of each refusal
-- in the audit trail, in this order):
--   no_tls, no_client_cert, issuer_not_trusted, domain_not_trusted, cn_not_listed,
--   reject (unknown_bal + suspended_bal, then RSET), no_auth, not_delegate, not_owner,
--   app_not_itself, mes_not_patient, bad_ins, bad_codecda

dofile(lib)

local function inbound(changes)
	local m = {["{daemon_name}"] = "mss-inbound", ["{client_addr}"] = "192.0.2.7",
		["{tls_version}"] = "TLSv1.3", ["{cipher}"] = "TLS_AES_256_GCM_SHA384",
		["{cert_subject}"] = "mss.ch-valmont.fr",
		["{cert_issuer}"] = "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"}
	for k, v in pairs(changes or {}) do
		m[k] = v or nil
	end
	local list = {}
	for k, v in pairs(m) do
		if v ~= "" then
			list[#list + 1] = k
			list[#list + 1] = v
		end
	end
	return list
end

local function submission(login)
	local m = {"{daemon_name}", "mss-submission", "{client_addr}", "10.0.0.5"}
	if login then
		m[#m + 1] = "{auth_authen}"
		m[#m + 1] = login
	end
	return m
end

local function refused_at_eom(macros, from, to, headers, code, xcode, text, what)
	local conn = mt.connect(sock, 50, 0.1)
	check(conn ~= nil, "cannot connect to " .. sock)
	mt.macro(conn, SMFIC_MAIL, table.unpack(macros))
	check(mt.mailfrom(conn, from) == nil, "mailfrom")
	check(mt.getreply(conn) == SMFIR_CONTINUE, what .. ": MAIL FROM refused")
	check(mt.rcptto(conn, to) == nil, "rcptto")
	check(mt.getreply(conn) == SMFIR_CONTINUE, what .. ": RCPT TO refused")
	for i = 1, #headers, 2 do
		check(mt.header(conn, headers[i], headers[i + 1]) == nil, "header")
	end
	check(mt.eom(conn) == nil, "eom")
	check(mt.getreply(conn) == SMFIR_REPLYCODE, what .. ": message not refused")
	check(mt.eom_check(conn, MT_SMTPREPLY, code, xcode, text), what .. ": reply is not " .. code .. " " .. xcode ..
		" " .. text)
	mt.disconnect(conn)
end

local valmont = "<dr.x@ch-valmont.mssante.fr>"
-- inbound: the trust-space checks on the sender
refused_at_mail(inbound({["{tls_version}"] = "", ["{cipher}"] = ""}), valmont, "no TLS")
-- foreign CA: Postfix sends no certificate macros when the chain does not verify
refused_at_mail(inbound({["{cert_subject}"] = "", ["{cert_issuer}"] = ""}), valmont, "foreign CA")
refused_at_mail(inbound({["{cert_issuer}"] = "Foreign Test CA"}), valmont, "issuer not IGC-Sante")
refused_at_mail(inbound(), "<someone@gmail.com>", "sender domain off the list")
refused_at_mail(inbound({["{cert_subject}"] = "mail.hopital-test.fr"}), valmont, "CN not listed for the domain")

-- inbound: recipients, each refused on its own, then RSET
local conn = mt.connect(sock, 50, 0.1)
mt.macro(conn, SMFIC_MAIL, table.unpack(inbound()))
check(mt.mailfrom(conn, valmont) == nil, "mailfrom")
check(mt.getreply(conn) == SMFIR_CONTINUE, "inbound MAIL FROM refused")
check(mt.rcptto(conn, "<nobody@hopital-test.mssante.fr>") == nil, "rcptto")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "unknown recipient not refused")
check(mt.rcptto(conn, "<ancien-service@hopital-test.mssante.fr>") == nil, "rcptto")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "suspended recipient not refused")
check(mt.abort(conn) == nil, "abort")
mt.disconnect(conn)

-- submission: authentication and the right to send as the BAL
refused_at_mail(submission(nil), "<jean.martin@hopital-test.mssante.fr>", "no AUTH")
refused_at_mail(submission("jean.martin@hopital-test.mssante.fr"), "<urgences@hopital-test.mssante.fr>",
	"not a delegate of the ORG BAL")
refused_at_mail(submission("jean.martin@hopital-test.mssante.fr"), "<sophie.durand@hopital-test.mssante.fr>",
	"someone else's PER BAL")
refused_at_mail(submission("dpi@hopital-test.mssante.fr"), "<jean.martin@hopital-test.mssante.fr>",
	"an application sending as a person")

-- headers, at the end of the message
local jm = submission("jean.martin@hopital-test.mssante.fr")
refused_at_eom(jm, "<jean.martin@hopital-test.mssante.fr>", "<dr.x@ch-valmont.mssante.fr>",
	{"X-MSS-NIL", "LOGICIEL 1.0", "X-MSS-MES", "FIN"}, "550", "5.7.1",
	"<dr.x@ch-valmont.mssante.fr>: X-MSS-MES is only for messages to patients (patient.mssante.fr)",
	"X-MSS-MES to a professional")
refused_at_eom(jm, "<jean.martin@hopital-test.mssante.fr>", "<dr.x@ch-valmont.mssante.fr>",
	{"X-MSS-NIL", "LOGICIEL 1.0", "X-MSS-INS", "oui"}, "550", "5.6.0", "X-MSS-INS must be O or N",
	"X-MSS-INS not O/N")
refused_at_eom(jm, "<jean.martin@hopital-test.mssante.fr>", "<dr.x@ch-valmont.mssante.fr>",
	{"X-MSS-NIL", "LOGICIEL 1.0", "X-MSS-CODECDA", "34112-3 <b>"}, "550", "5.6.0",
	"X-MSS-CODECDA must list CDA document codes (such as 34112-3)", "X-MSS-CODECDA syntax")
mt.echo("reject: 13 transactions")
