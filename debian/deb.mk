# Debian packages (included by the top-level Makefile).
#   make deb         the five packages (and their -dbgsym) into $(BUILD)/deb/, then lintian,
#                    which fails the target on any error (debian/make-deb.sh)
#   make check-slow  make deb, then installs them into a fresh Debian 12 debootstrap chroot,
#                    checks them and purges them (tests/slow/test_deb_chroot.sh, as root)

.PHONY: deb check-slow

# The packaging tools are installed here only, not by `make check`.
deb: deps
	@sh tests/install-deps.sh debian/build-deps.list
	@sh debian/make-deb.sh $(BUILD)

# Slow (debootstrap, apt from the archive): not part of `make check`.
check-slow: deb
	BUILD=$(abspath $(BUILD)) SRC=$(CURDIR) sh tests/slow/test_deb_chroot.sh
