# Fixture binaries for the unit tests, built from tests/unit/fixtures/*.c.
FIXTURE_DIR := $(OUTPUT)/fixtures
FIXTURES := $(patsubst tests/unit/fixtures/%.c,$(FIXTURE_DIR)/%,$(wildcard tests/unit/fixtures/*.c))

$(FIXTURE_DIR):
	$(Q)mkdir -p $@

# -D_SDT_HAS_SEMAPHORES makes sys/sdt.h record the semaphore addresses.
$(FIXTURE_DIR)/%: tests/unit/fixtures/%.c | $(FIXTURE_DIR)
	$(call msg,FIXTURE,$@)
	$(Q)$(CC) -O0 -g -D_SDT_HAS_SEMAPHORES=1 $< -o $@
