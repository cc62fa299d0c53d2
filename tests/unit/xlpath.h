/* xlpath.h - point MORTAR_XLATOR_PATH at the test-only translators. */
#ifndef MORTAR_TEST_XLPATH_H
#define MORTAR_TEST_XLPATH_H
/* Make a temp dir holding test/leaf.so and test/fan.so (links to the
 * built modules), prepend it to MORTAR_XLATOR_PATH; 0 or -1. */
int xlpath_setup(void);
void xlpath_teardown(void);
#endif
