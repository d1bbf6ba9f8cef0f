/* lib95_imap_mssante_plugin.so: the IMAP companion of lib90_mssante_plugin.so, Dovecot 2.3
 * glue like mssante-plugin.c (the only two files that include Dovecot headers).
 *
 * Why it exists: in Dovecot 2.3 a mail plugin refuses a login by failing the user's
 * initialisation, and the imap process then answers the client with its fixed
 * "* BYE Internal error occurred": the reason reaches the log, never the client. Loaded
 * (imap { mail_plugins = $mail_plugins imap_mssante }, as imap_acl beside acl), this plugin
 * tells mssante to let a refused imap user be created with every folder closed (no open, no
 * create/delete/rename, an empty LIST), and ends that session itself:
 *
 *     a OK Logged in
 *     * BYE [AUTHORIZATIONFAILED] mssante: access to BAL ... refused for ...: <reason>
 *
 * The BYE is sent from a zero timeout: the imap process still handles the login (its tagged
 * OK, then any command pipelined after LOGIN, each refused by mssante) when the client-created
 * hook runs, and a client may not be disconnected in the middle of that. */
#include "imap-common.h"
#include "ioloop.h"
#include "module-context.h"
#include "imap-client.h"

#define MSS_EXPORT __attribute__((visibility("default")))

MSS_EXPORT extern const char *imap_mssante_plugin_dependencies[];
MSS_EXPORT extern const char imap_mssante_plugin_binary_dependency[];
MSS_EXPORT extern const char *imap_mssante_plugin_version;
MSS_EXPORT void imap_mssante_plugin_init(struct module *module);
MSS_EXPORT void imap_mssante_plugin_deinit(void);

/* From lib90_mssante_plugin.so (loaded first: see the dependencies below). */
void mssante_plugin_defer_imap_refusal(void);
const char *mssante_plugin_user_refusal(struct mail_user *user);

#define IMAP_MSSANTE_CONTEXT(obj) MODULE_CONTEXT(obj, imap_mssante_module)

struct imap_mssante_client {
	union imap_module_context module_ctx;
	struct timeout *to_bye;
	const char *reason;
};

static MODULE_CONTEXT_DEFINE_INIT(imap_mssante_module, &imap_module_register);
static imap_client_created_func_t *next_hook_client_created;

static void imap_mssante_bye(struct client *client)
{
	struct imap_mssante_client *mclient = IMAP_MSSANTE_CONTEXT(client);

	timeout_remove(&mclient->to_bye);
	if (client->disconnected)
		return;
	client_disconnect_with_error(client, t_strdup_printf("[AUTHORIZATIONFAILED] %s", mclient->reason));
}

static void imap_mssante_client_destroy(struct client *client, const char *reason)
{
	struct imap_mssante_client *mclient = IMAP_MSSANTE_CONTEXT(client);

	timeout_remove(&mclient->to_bye);
	mclient->module_ctx.super.destroy(client, reason);
}

static void imap_mssante_client_created(struct client **clientp)
{
	struct client *client = *clientp;
	const char *reason = mssante_plugin_user_refusal(client->user);

	if (reason != NULL) {
		struct imap_mssante_client *mclient = p_new(client->pool, struct imap_mssante_client, 1);

		mclient->module_ctx.super = client->v;
		mclient->reason = p_strdup(client->pool, reason);
		client->v.destroy = imap_mssante_client_destroy;
		mclient->to_bye = timeout_add_short(0, imap_mssante_bye, client);
		MODULE_CONTEXT_SET(client, imap_mssante_module, mclient);
	}
	if (next_hook_client_created != NULL)
		next_hook_client_created(clientp);
}

void imap_mssante_plugin_init(struct module *module ATTR_UNUSED)
{
	mssante_plugin_defer_imap_refusal();
	next_hook_client_created = imap_client_created_hook_set(imap_mssante_client_created);
}

void imap_mssante_plugin_deinit(void)
{
	imap_client_created_hook_set(next_hook_client_created);
}

const char *imap_mssante_plugin_dependencies[] = {"mssante", NULL};
/* Loaded only by the imap binary (Dovecot skips it elsewhere, as it does imap_acl). */
const char imap_mssante_plugin_binary_dependency[] = "imap";
const char *imap_mssante_plugin_version = DOVECOT_ABI_VERSION;
