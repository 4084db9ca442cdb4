/* A tiny program for the doctor's ELF check (tests/integration/
 * test_avs12_doctor.sh compiles it with and without the mitigations):
 * a local array (stack canary) and strcpy/printf (fortifiable). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char buf[64];

	buf[0] = '\0';
	if (argc > 1 && strlen(argv[1]) < sizeof buf)
		strcpy(buf, argv[1]);
	printf("%s\n", buf);
	return 0;
}
