/* The option table, expanded from options.def. */
#include "config.h"

const struct mss_option mss_options[MSS_OPT_COUNT] = {
#define MSS_OPTION(id, section, key, type, def, comp, values, help) \
	[MSS_OPT_##id] = {section, key, MSS_OPT_##type, def, comp, values, help},
#include "options.def"
#undef MSS_OPTION
};
