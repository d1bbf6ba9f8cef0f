/* The one place where a policy verdict becomes a milter answer (OpenDKIM's dkimf_miltercode,
   clamav-milter's OnFail): every error class of the callbacks ends here, and the [milter]
   table decides what an error means. Nothing maps to accept but an explicit ACCEPT. */
#include "milter.h"

/* What each error class answers under each setting of the table. */
struct mm_answer {
	const char *rcode, *xcode, *text;
	sfsistat stat;
	const char *decision;
};

static const struct mm_answer internal_answers[] = {
	[MM_ON_TEMPFAIL] = {"451", "4.3.0", "MSSante policy check temporarily unavailable, please try again later",
			    SMFIS_TEMPFAIL, "tempfail"},
	[MM_ON_REJECT] = {"550", "5.3.0", "MSSante policy check unavailable", SMFIS_REJECT, "reject"},
};

static const struct mm_answer stale_answers[] = {
	[MM_ON_TEMPFAIL] = {"451", "4.3.0", "MSSante directory data out of date, please try again later",
			    SMFIS_TEMPFAIL, "tempfail"},
	[MM_ON_REJECT] = {"550", "5.3.0", "MSSante directory data out of date", SMFIS_REJECT, "reject"},
};

static const struct mm_answer *error_answer(const struct mm_conf *c, const struct mss_verdict *v)
{
	enum mm_on_error on = MM_ON_TEMPFAIL; /* no configuration at all: the safe default */

	if (v->outcome == MSS_OUTCOME_STALE) {
		if (c != NULL && c->on_stale_snapshot == MM_ON_REJECT)
			on = MM_ON_REJECT;
		return &stale_answers[on];
	}
	if (c != NULL && c->on_internal_error == MM_ON_REJECT)
		on = MM_ON_REJECT;
	return &internal_answers[on];
}

const char *mm_decision(const struct mm_conf *c, const struct mss_verdict *v)
{
	switch (v->outcome) {
	case MSS_OUTCOME_ACCEPT: return "accept";
	case MSS_OUTCOME_REJECT: return "reject";
	case MSS_OUTCOME_INTERNAL:
	case MSS_OUTCOME_STALE: break;
	}
	return error_answer(c, v)->decision;
}

sfsistat mm_verdict(SMFICTX *ctx, const struct mm_conf *c, const struct mss_verdict *v)
{
	const struct mm_answer *a;

	switch (v->outcome) {
	case MSS_OUTCOME_ACCEPT:
		return SMFIS_CONTINUE;
	case MSS_OUTCOME_REJECT:
		/* A rule's reply; without one (a bug) the MTA's own 5xx is still a refusal. */
		if (v->rcode[0] == '5' || v->rcode[0] == '4')
			(void)mm_setreply(ctx, v->rcode, v->xcode, v->text);
		return v->rcode[0] == '4' ? SMFIS_TEMPFAIL : SMFIS_REJECT;
	case MSS_OUTCOME_INTERNAL:
	case MSS_OUTCOME_STALE:
		break;
	}
	/* Unknown outcomes land here too: never accept what was not checked. */
	a = error_answer(c, v);
	(void)mm_setreply(ctx, a->rcode, a->xcode, a->text);
	return a->stat;
}
