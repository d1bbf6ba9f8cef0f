-- miltertest: the "accept" verdict class, against the real mss-milter.
--   miltertest -D sock=unix:PATH -s accept.lua
-- Inbound mail from a listed operator (both of its MTAs), submission by a PER holder and by an
-- ORG delegate, a delegate logged in with their idNat_PS, an application as itself, and a
-- transaction where one recipient is refused and the others go through. The shell test then
-- reads the audit trail: one "accept" record per message, with the recipients' decisions.

-- miltertest does not print a script's errors: say what failed, then fail.
local function check(cond, what)
	if not cond then
		mt.echo("FAIL: " .. what)
		error(what, 2)
	end
end

local function open(macros)
	local conn = mt.connect(sock, 50, 0.1)
	check(conn ~= nil, "cannot connect to " .. sock)
	-- Only what mss-milter needs, and no message changes: each event is a round trip
	-- Postfix pays for.
	check(mt.test_option(conn, SMFIP_NOCONNECT), "connect event not skipped")
	check(mt.test_option(conn, SMFIP_NOHELO), "HELO event not skipped")
	check(mt.test_option(conn, SMFIP_NOBODY), "body not skipped")
	check(mt.test_option(conn, SMFIP_NOEOH), "end of headers not skipped")
	check(mt.test_option(conn, SMFIP_NR_HDR), "headers answered one by one")
	check(not mt.test_action(conn, SMFIF_ADDHDRS), "asks to add headers")
	check(not mt.test_action(conn, SMFIF_CHGBODY), "asks to change the body")
	return conn
end

local function mail(conn, macros, from)
	mt.macro(conn, SMFIC_MAIL, table.unpack(macros))
	check(mt.mailfrom(conn, from) == nil, "mailfrom " .. from)
	check(mt.getreply(conn) == SMFIR_CONTINUE, "MAIL FROM " .. from .. " not continued")
end

local function rcpt(conn, to, want)
	check(mt.rcptto(conn, to) == nil, "rcptto " .. to)
	check(mt.getreply(conn) == want, "RCPT TO " .. to .. ": unexpected reply " .. mt.getreply(conn))
end

local function eom(conn, headers)
	for i = 1, #headers, 2 do
		check(mt.header(conn, headers[i], headers[i + 1]) == nil, "header " .. headers[i])
	end
	check(mt.eom(conn) == nil, "eom")
	check(mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT, "message not accepted")
	check(not mt.eom_check(conn, MT_HDRADD), "a header was added")
end

local inbound = {"{daemon_name}", "mss-inbound", "{client_addr}", "192.0.2.7", "{client_name}",
	"mss.ch-valmont.fr", "{tls_version}", "TLSv1.3", "{cipher}", "TLS_AES_256_GCM_SHA384",
	"{cert_subject}", "mss.ch-valmont.fr", "{cert_issuer}", "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"}

-- 1. inbound, first MTA of ch-valmont.mssante.fr
local conn = open()
mail(conn, inbound, "<dr.x@ch-valmont.mssante.fr>")
rcpt(conn, "<jean.martin@hopital-test.mssante.fr>", SMFIR_CONTINUE)
rcpt(conn, "<cardiologie@hopital-test.mssante.fr>", SMFIR_CONTINUE)
eom(conn, {"X-MSS-NIL", "DEV935997", "Message-ID", "<accept-1@ch-valmont.mssante.fr>",
	"X-MSS-INS", "O", "X-MSS-CODECDA", "34112-3", "Subject", "not to be recorded"})
-- 2. the same connection, second transaction: the second MTA of the domain
inbound[12] = "mss2.ch-valmont.fr"
mail(conn, inbound, "<dr.y@ch-valmont.mssante.fr>")
rcpt(conn, "<sophie.durand@hopital-test.mssante.fr>", SMFIR_CONTINUE)
eom(conn, {"X-MSS-NIL", "DEV935997"})
mt.disconnect(conn)

local function submission(login)
	return {"{daemon_name}", "mss-submission", "{client_addr}", "10.0.0.5", "{auth_authen}", login}
end

-- 3. submission: a PER holder; mixed recipients, the off-list one refused alone
conn = open()
mail(conn, submission("jean.martin@hopital-test.mssante.fr"), "<jean.martin@hopital-test.mssante.fr>")
rcpt(conn, "<dr.x@ch-valmont.mssante.fr>", SMFIR_CONTINUE)
rcpt(conn, "<friend@gmail.com>", SMFIR_REPLYCODE)
rcpt(conn, "<123456789012345@patient.mssante.fr>", SMFIR_CONTINUE)
eom(conn, {"X-MSS-NIL", "LOGICIEL 1.0"})
mt.disconnect(conn)

-- 4. an ORG delegate
conn = open()
mail(conn, submission("jean.martin@hopital-test.mssante.fr"), "<cardiologie@hopital-test.mssante.fr>")
rcpt(conn, "<dr.x@ch-valmont.mssante.fr>", SMFIR_CONTINUE)
eom(conn, {"X-MSS-NIL", "LOGICIEL 1.0"})
mt.disconnect(conn)

-- 5. a delegate without a PER BAL, logged in with their idNat_PS
conn = open()
mail(conn, submission("810100000041"), "<cardiologie@hopital-test.mssante.fr>")
rcpt(conn, "<sophie.durand@hopital-test.mssante.fr>", SMFIR_CONTINUE)
eom(conn, {"X-MSS-NIL", "LOGICIEL 1.0"})
mt.disconnect(conn)

-- 6. the patient-record application, as itself, to a patient
conn = open()
mail(conn, submission("dpi@hopital-test.mssante.fr"), "<dpi@hopital-test.mssante.fr>")
rcpt(conn, "<123456789012345@patient.mssante.fr>", SMFIR_CONTINUE)
eom(conn, {"X-MSS-NIL", "DPI 3.2", "X-MSS-MES", "FIN"})
mt.disconnect(conn)
mt.echo("accept: 6 messages")
