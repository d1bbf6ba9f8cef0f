-- miltertest: N inbound transactions from a listed operator against the real mss-milter,
-- each on its own connection (as Postfix opens one per SMTP session), each accepted.
--   miltertest -D sock=unix:PATH -D n=N -s soak.lua
local inbound = {"{daemon_name}", "mss-inbound", "{client_addr}", "192.0.2.7", "{client_name}",
	"mss.ch-valmont.fr", "{tls_version}", "TLSv1.3", "{cipher}", "TLS_AES_256_GCM_SHA384",
	"{cert_subject}", "mss.ch-valmont.fr", "{cert_issuer}", "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"}
for i = 1, tonumber(n) do
	local conn = mt.connect(sock, 50, 0.1)
	if conn == nil then error("cannot connect to " .. sock) end
	mt.macro(conn, SMFIC_MAIL, table.unpack(inbound))
	if mt.mailfrom(conn, "<dr.x@ch-valmont.mssante.fr>") ~= nil or mt.getreply(conn) ~= SMFIR_CONTINUE then
		error("MAIL FROM refused at " .. i)
	end
	if mt.rcptto(conn, "<jean.martin@hopital-test.mssante.fr>") ~= nil or mt.getreply(conn) ~= SMFIR_CONTINUE then
		error("RCPT TO refused at " .. i)
	end
	mt.header(conn, "X-MSS-NIL", "SOAK 1.0")
	mt.header(conn, "Message-ID", "<soak-" .. i .. "@ch-valmont.mssante.fr>")
	if mt.eom(conn) ~= nil or (mt.getreply(conn) ~= SMFIR_CONTINUE and mt.getreply(conn) ~= SMFIR_ACCEPT) then
		error("message " .. i .. " not accepted")
	end
	mt.disconnect(conn)
end
