-- miltertest: what the verdict-class scripts share. Loaded with dofile(lib); `mt` in lib.sh
-- passes lib (this file) and sock.

function check(cond, what)
	if not cond then
		mt.echo("FAIL: " .. what)
		error(what, 2)
	end
end

-- The sender's verdict: MAIL FROM gets no reply (the milter asks for none, SMFIP_NR_MAIL, so
-- that Postfix waits once for MAIL FROM and RCPT TO); each recipient gets the refusal.
function refused_at_mail(macros, from, what)
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
