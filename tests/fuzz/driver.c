/* driver.c — a main() for the fuzz harnesses without libFuzzer: feeds each
 * file named on the command line to LLVMFuzzerTestOneInput once, so the
 * regression inputs in tests/fuzz/regress/ replay with the normal compiler.
 * A crash is the failure; "replayed FILE" after each input says it passed. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>

static unsigned char *slurp(const char *path, size_t *n)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, len = 0, got;
  unsigned char *buf = malloc(cap);
  while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0)
    if ((len += got) == cap) buf = realloc(buf, cap *= 2);
  fclose(f);
  *n = len;
  return buf;
}

int main(int argc, char **argv)
{
  LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++) {
    size_t n = 0;
    unsigned char *data = slurp(argv[i], &n);
    if (!data) {
      fprintf(stderr, "driver: cannot read %s\n", argv[i]);
      return 1;
    }
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    printf("replayed %s\n", argv[i]);
  }
  return 0;
}
