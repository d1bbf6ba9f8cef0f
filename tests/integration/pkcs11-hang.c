/* A PKCS#11 module that never answers: C_Initialize blocks for ever, as a driver stuck on a
   dead reader or pcscd would. pam_mss must give up after [pam] pkcs11_timeout and fail
   closed (tests/integration/test_pam_cps.sh). */
#include <unistd.h>

#include <p11-kit/pkcs11.h>

static CK_RV hang_initialize(CK_VOID_PTR args)
{
	(void)args;
	for (;;)
		pause();
	return CKR_GENERAL_ERROR;
}

static CK_FUNCTION_LIST functions = {
	.version = {2, 40},
	.C_Initialize = hang_initialize,
};

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);
CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	*list = &functions;
	return CKR_OK;
}
