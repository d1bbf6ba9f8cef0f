-- miltertest: a transaction in progress while mss-milter is told to stop.
--   miltertest -D sock=unix:PATH -D marker=FILE -s drain.lua
-- After RCPT TO it creates MARKER (the shell then sends SIGTERM), waits half a second and ends
-- the message: the milter must still answer it (SIGTERM drains open transactions) and exit
-- right after.

local function check(cond, what)
	if not cond then
		mt.echo("FAIL: " .. what)
		error(what, 2)
	end
end

local conn = mt.connect(sock, 50, 0.1)
check(conn ~= nil, "cannot connect to " .. sock)
mt.macro(conn, SMFIC_MAIL, "{daemon_name}", "mss-submission", "{auth_authen}", "jean.martin@hopital-test.mssante.fr")
check(mt.mailfrom(conn, "<jean.martin@hopital-test.mssante.fr>") == nil, "mailfrom")
check(mt.getreply(conn) == SMFIR_CONTINUE, "MAIL FROM refused")
check(mt.rcptto(conn, "<dr.x@ch-valmont.mssante.fr>") == nil, "rcptto")
check(mt.getreply(conn) == SMFIR_CONTINUE, "RCPT TO refused")
local f = io.open(marker, "w")
f:write("in transaction\n")
f:close()
mt.sleep(0.5)
check(mt.header(conn, "X-MSS-NIL", "LOGICIEL 1.0") == nil, "header")
check(mt.eom(conn) == nil, "eom: the milter went away with a transaction open")
check(mt.getreply(conn) == SMFIR_CONTINUE, "message not accepted while draining")
mt.echo("drain: answered")
