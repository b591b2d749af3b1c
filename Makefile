# SPDX-License-Identifier: GPL-2.0
#
# make              build the module (W=1) and the selftests
# make check        boot Debian's kernel under QEMU and run every test
# make demo         the two-namespace demo (see README)
# make checkpatch   checkpatch.pl --strict over the module and UAPI sources
# make sparse       build the module with sparse (C=2) and W=1
#
# KDIR defaults to the newest Debian kernel headers installed.

KVER ?= $(shell ls /lib/modules 2>/dev/null | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build

# Kernel source files that tools/setup extracts from linux-source-6.1.
KDTLS_CACHE ?= /var/cache/kdtls
KSRC_CACHE ?= $(KDTLS_CACHE)/linux-source-6.1
CHECKPATCH ?= $(KSRC_CACHE)/scripts/checkpatch.pl
# kselftest_harness.h and kselftest.h (selftests/Makefile reads KSFT_DIR)
export KSFT_DIR ?= $(KSRC_CACHE)/tools/testing/selftests

CHECKPATCH_FILES = $(wildcard kernel/*.c kernel/*.h kernel/include/uapi/linux/*.h)

all: module selftests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

selftests:
	$(MAKE) -C selftests

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C selftests clean

check: all
	KVER=$(KVER) tools/vm-run --timeout 1500 -- selftests/run_all.sh

checkpatch:
	@test -f $(CHECKPATCH) || { echo "$(CHECKPATCH) missing: run 'sudo tools/setup'" >&2; exit 1; }
	@test -n "$(CHECKPATCH_FILES)" || { echo "checkpatch: no sources found" >&2; exit 1; }
	perl $(CHECKPATCH) --strict --no-tree --show-types -f $(CHECKPATCH_FILES) || \
		{ echo "checkpatch: problems found" >&2; exit 1; }
	@echo "checkpatch: clean ($(words $(CHECKPATCH_FILES)) files)"

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 W=1 modules

.PHONY: all module selftests clean check checkpatch sparse
