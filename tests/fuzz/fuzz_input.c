/* fuzz_input.c — the INI reader (bf_input_parse) on arbitrary bytes.
 * A byte 0x01 splits the input: what follows is one --set override, so the
 * override parser is fuzzed too.  Any input must end in parameters or one
 * message, never a crash or undefined behaviour. */
#include "fuzz.h"

#include "brgflow/input.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  const char *sets[1];
  int nsets = 0;
  char *split = memchr(text, '\x01', size);
  if (split) {
    *split = '\0';
    sets[nsets++] = split + 1;
  }
  static bf_params p; /* large: off the stack */
  static char err[8192];
  bf_input_parse("fuzz.ini", text, sets, nsets, BF_OUTPUT_IGNORE, &p, err, sizeof err);
  free(text);
  return 0;
}
