/* trivial.c - the cheapest possible hook command: prints an empty JSON
 * object, as `config-get --format=json` does for a charm with no config. */
#include <stdio.h>

int main(void)
{
    fputs("{}\n", stdout);
    return 0;
}
