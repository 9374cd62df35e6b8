/* fuzz.h — the libFuzzer entry points every harness in tests/fuzz defines.
 * Built with clang -fsanitize=fuzzer they are driven by libFuzzer (`make
 * fuzz`); built with gcc and driver.c they replay files (`make check`). */
#ifndef BRGFLOW_FUZZ_H
#define BRGFLOW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
