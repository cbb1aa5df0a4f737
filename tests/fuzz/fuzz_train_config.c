/* Training configuration files: read over the defaults, check, format, and
 * read the formatted text back (it must be accepted and format the same). */
#include "fuzz_common.h"
#include "gbnet_train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path(0, "train.cfg");
    fuzz_write(path, data, size);
    gbnet_train_config *c = NULL;
    if (gbnet_train_config_create(&c) != GBNET_OK) __builtin_trap();
    gbnet_status st = gbnet_train_config_read(c, path);
    if (st != GBNET_OK) {
        fuzz_check_message(gbnet_last_error());
    } else {
        st = gbnet_train_config_check(c);
        if (st != GBNET_OK) fuzz_check_message(gbnet_last_error());
        size_t need = gbnet_train_config_format(c, NULL, 0);
        char *text = malloc(need + 1), *again = malloc(need + 1);
        if (!text || !again) __builtin_trap();
        if (gbnet_train_config_format(c, text, need + 1) != need) __builtin_trap();
        /* the formatted text (paths already resolved) read back gives the same text */
        const char *copy = fuzz_path(1, "formatted.cfg");
        fuzz_write(copy, text, need);
        gbnet_train_config *d = NULL;
        if (gbnet_train_config_create(&d) != GBNET_OK) __builtin_trap();
        if (gbnet_train_config_read(d, copy) != GBNET_OK) __builtin_trap();
        if (gbnet_train_config_format(d, again, need + 1) != need || memcmp(text, again, need) != 0) __builtin_trap();
        gbnet_train_config_free(d);
        free(text);
        free(again);
    }
    gbnet_train_config_free(c);
    return 0;
}
