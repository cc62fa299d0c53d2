/* xlpath.h - point MORTAR_XLATOR_PATH at the test-only translators. */
#ifndef MORTAR_TEST_XLPATH_H
#define MORTAR_TEST_XLPATH_H
/* Make a temp dir holding test/leaf.so, fan.so, picky.so and gate.so
 * (links to the built modules) and point MORTAR_XLATOR_PATH at it; 0 or
 * -1.  xlpath_teardown removes it. */
int xlpath_setup(void);
void xlpath_teardown(void);
#endif
